// The schema table's own consistency, suggestions, and canonical value formatting.

#include <gtest/gtest.h>

#include <set>

#include "common/counter_rng.h"
#include "harness/config/schema.h"
#include "harness/config/suggest.h"
#include "harness/config/value.h"

namespace tbptt::harness {
namespace {

size_t position(std::string_view key) {
  const auto i = setting_index(key);
  EXPECT_TRUE(i.has_value()) << key << " is not a setting";
  return i.value_or(settings().size());
}

TEST(Schema, SelectorsAndFollowedKeysComeFirst) {
  for (size_t i = 0; i < settings().size(); ++i) {
    const Setting& s = settings()[i];
    if (!s.follows.empty()) {
      EXPECT_LT(position(s.follows), i) << s.key;
      EXPECT_TRUE(s.fallback.empty()) << s.key << " has both a default and a key it follows";
    }
    for (const Condition& c : s.when) {
      if (c.key.empty()) continue;
      ASSERT_LT(position(c.key), i) << s.key;
      const Setting& selector = settings()[position(c.key)];
      EXPECT_EQ(selector.type, Type::choice) << c.key;
      for (size_t start = 0; start <= c.values.size();) {  // every listed value is a choice of the selector
        const size_t bar = std::min(c.values.find('|', start), c.values.size());
        EXPECT_TRUE(is_alternative(selector.choices, c.values.substr(start, bar - start))) << s.key;
        start = bar + 1;
      }
    }
  }
}

TEST(Schema, EveryDefaultIsAValidValueOfItsType) {
  for (const Setting& s : settings()) {
    if (s.fallback.empty()) {
      EXPECT_TRUE(s.required || !s.follows.empty() || s.type == Type::path || s.type == Type::identifier) << s.key;
      continue;
    }
    EXPECT_FALSE(s.required) << s.key;
    const Value v = parse_value(s, parse_set_value(s.fallback, "default"));
    const size_t expected_index = s.type == Type::integer   ? 0
                                  : s.type == Type::number  ? 1
                                  : s.type == Type::boolean ? 2
                                  : s.type == Type::split   ? 4
                                  : s.type == Type::choice_list ? 5
                                                                : 3;
    EXPECT_EQ(v.index(), expected_index) << s.key;
  }
}

TEST(Schema, SectionsAndChildren) {
  EXPECT_TRUE(is_section(""));
  EXPECT_TRUE(is_section("train.optimizer"));
  EXPECT_FALSE(is_section("train.optim"));
  EXPECT_FALSE(is_section("tbptt.k1"));
  EXPECT_EQ(section_children("tbptt"), (std::vector<std::string>{"k1", "k2", "carry_state", "seq_len", "drop_last"}));
  const auto top = section_children("");
  EXPECT_EQ(std::set<std::string>(top.begin(), top.end()),
            (std::set<std::string>{"name", "seed", "data", "model", "tbptt", "train", "eval", "parallel", "checkpoint",
                                   "fidelity", "results"}));
}

TEST(Schema, MarkdownHasARowPerKeyAndTheSweepKeys) {
  const std::string md = schema_markdown();
  for (const Setting& s : settings())
    EXPECT_NE(md.find("| `" + std::string(s.key) + "` |"), std::string::npos) << s.key;
  for (const char* k : {"sweep.grid", "sweep.zip", "sweep.seeds", "sweep.skip_invalid"})
    EXPECT_NE(md.find(k), std::string::npos) << k;
  EXPECT_NE(md.find("| `tbptt.k2` | int | = `tbptt.k1` | an integer >= 1 | always |"), std::string::npos);
  EXPECT_NE(md.find("| `data.lag` | int | `10` | an integer >= 1 | data.source = delayed_recall |"), std::string::npos);
}

TEST(Suggest, EditDistanceCountsSwapsOnceAndIgnoresCase) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("modle", "model"), 1u);
  EXPECT_EQ(edit_distance("LSTM", "lstm"), 0u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  const std::vector<std::string> keys = {"cell", "layers", "hidden"};
  EXPECT_EQ(closest("hiden", keys)->text, "hidden");
  EXPECT_FALSE(closest("flux", keys).has_value());
  EXPECT_FALSE(closest("x", std::vector<std::string>{"yz"}).has_value());  // 2 edits on a 1-letter word: no guess
}

TEST(Format, NumbersReadBackExactly) {
  const Setting any_number{.key = "x", .type = Type::number};
  for (uint64_t i = 0; i < 2000; ++i) {
    const double magnitude = std::pow(10.0, static_cast<int>(rng::below(40, 1, 7, i)) - 20);
    const double x = (rng::uniform(1, 8, i) - 0.5) * magnitude;
    const std::string text = format_value(x);
    const Value back = parse_value(any_number, parse_set_value(text, "x"));
    ASSERT_EQ(std::get<double>(back), x) << text;
  }
  EXPECT_EQ(format_value(10.0), "10.0");  // stays a float
  EXPECT_EQ(format_value(int64_t{10}), "10");
  EXPECT_EQ(format_value(std::vector<double>{0.9, 0.05, 0.05}), "[0.9, 0.05, 0.05]");
}

TEST(Format, StringsAreQuotedExactlyWhenYamlWouldMisreadThem) {
  for (const std::string plain : {"lstm", "data/cache", "/abs/path.txt", "every_step", "a-b.c"}) {
    EXPECT_EQ(format_value(plain), plain);
  }
  for (const std::string tricky : {"true", "No", "null", "~", "10", "1e5", ".inf", "-x", "a: b", "#c", "", "say \"hi\"",
                                   "tab\there", "0x10"}) {
    const std::string text = format_value(tricky);
    EXPECT_EQ(text.front(), '"') << tricky;
    const SourceNode back = parse_set_value(text, "x");
    EXPECT_EQ(back.text, tricky);
    EXPECT_TRUE(back.quoted);
  }
}

}  // namespace
}  // namespace tbptt::harness
