// Acceptance 3: text sources. Char and word tokens, the vocabulary from train only, the split,
// Brown's tags stripped (on the small fixture in fixtures/brown), and every bad input a
// ConfigError that names its key.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "data/brown.h"
#include "data/dataset.h"

namespace tbptt::data {
namespace {

namespace fs = std::filesystem;
const fs::path fixtures = TBPTT_DATA_FIXTURES;

// A fresh folder for one test's files, removed afterwards.
class TextTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tbptt_text_" + std::to_string(::getpid()) + "_" + testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return (dir_ / name).string();
  }
  SourceSpec text_spec(const std::string& train, const std::string& valid, const std::string& test,
                       const std::string& level = "char") {
    SourceSpec spec;
    spec.source = "text";
    spec.level = level;
    spec.path = write("train.txt", train);
    spec.valid_path = write("valid.txt", valid);
    spec.test_path = write("test.txt", test);
    return spec;
  }
  fs::path dir_;
};

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// A split's tokens read back through the windows: every input, then the last target.
std::vector<int32_t> split_ids(const Dataset& ds, Split split) {
  std::vector<int32_t> ids;
  auto it = ds.windows({.split = split, .batch = 1, .k1 = 3, .k2 = 3});
  Window w;
  while (it.next(w)) ids.insert(ids.end(), w.tokens.begin(), w.tokens.end());
  ids.push_back(w.target_ids.back());
  return ids;
}

std::string error_key(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.setting();
  }
  return "no error";
}

TEST_F(TextTest, CharLevelIsCodePointsAndRoundTrips) {
  const std::string text = slurp(fixtures / "tiny.txt");
  SourceSpec spec = text_spec(text, "the end", "a cat");
  Dataset ds(spec);
  const auto& vocab = ds.vocabulary();
  EXPECT_EQ(vocab.at(0), "<unk>");
  EXPECT_TRUE(std::is_sorted(vocab.begin() + 1, vocab.end()));
  EXPECT_NE(std::find(vocab.begin(), vocab.end(), "🙂"), vocab.end()) << "a 4-byte code point is one char";
  EXPECT_NE(std::find(vocab.begin(), vocab.end(), "東"), vocab.end());
  const auto ids = ds.encode(text);
  EXPECT_EQ(ids.size(), 122u) << "135 bytes; ï é take 2, — 東 京 ✓ take 3, 🙂 takes 4";
  EXPECT_EQ(ds.decode(ids), text);
  EXPECT_EQ(split_ids(ds, Split::train), ids);
  EXPECT_EQ(ds.steps(Split::train), 121);
  EXPECT_EQ(ds.shape().inputs, static_cast<int>(vocab.size()));
}

TEST_F(TextTest, VocabularyComesFromTrainOnly) {
  Dataset ds(text_spec("abcab", "abd", "zz"));
  EXPECT_EQ(ds.vocabulary(), (std::vector<std::string>{"<unk>", "a", "b", "c"}));
  EXPECT_EQ(split_ids(ds, Split::valid), (std::vector<int32_t>{1, 2, 0})) << "d was never seen in train";
  EXPECT_EQ(split_ids(ds, Split::test), (std::vector<int32_t>{0, 0}));
}

TEST_F(TextTest, WordLevelEosUnkMinCountMaxVocab) {
  SourceSpec spec = text_spec("b a x\n\na <unk> x b a c\n", "a z\nb", "c <eos> a", "word");
  {
    Dataset ds(spec);
    // a: 3, b: 2, x: 2 (tie with b: code-point order), c: 1; <eos> 3 and the literal <unk> are specials.
    EXPECT_EQ(ds.vocabulary(), (std::vector<std::string>{"<unk>", "<eos>", "a", "b", "x", "c"}));
    EXPECT_EQ(split_ids(ds, Split::train), (std::vector<int32_t>{3, 2, 4, 1, 1, 2, 0, 4, 3, 2, 5, 1}));
    EXPECT_EQ(split_ids(ds, Split::valid), (std::vector<int32_t>{2, 0, 1, 3, 1})) << "z unseen; last line gets <eos>";
    EXPECT_EQ(split_ids(ds, Split::test), (std::vector<int32_t>{5, 1, 2, 1}));
    EXPECT_EQ(ds.decode(ds.encode("a  b\tz\n\nc")), "a b <unk>\n\nc\n");
  }
  spec.min_count = 2;
  EXPECT_EQ(Dataset(spec).vocabulary(), (std::vector<std::string>{"<unk>", "<eos>", "a", "b", "x"}));
  spec.max_vocab = 4;
  Dataset capped(spec);
  EXPECT_EQ(capped.vocabulary(), (std::vector<std::string>{"<unk>", "<eos>", "a", "b"}));
  EXPECT_EQ(split_ids(capped, Split::test), (std::vector<int32_t>{0, 1, 2, 1}));
}

TEST_F(TextTest, FractionSplitIsContiguousByTokenIndex) {
  std::string text;
  for (int i = 0; i < 50; ++i) text += static_cast<char>('a' + i % 26) + std::string("é");  // 100 code points
  SourceSpec spec;
  spec.source = "text";
  spec.path = write("corpus.txt", text);
  spec.split.fractions = {0.7, 0.2, 0.1};
  Dataset ds(spec);
  EXPECT_EQ(ds.steps(Split::train), 70 - 1);
  EXPECT_EQ(ds.steps(Split::valid), 20 - 1);
  EXPECT_EQ(ds.steps(Split::test), 10 - 1);
  const auto all = ds.encode(text);
  auto slice = [&](int from, int to) { return std::vector<int32_t>(all.begin() + from, all.begin() + to); };
  EXPECT_EQ(split_ids(ds, Split::train), slice(0, 70));
  EXPECT_EQ(split_ids(ds, Split::valid), slice(70, 90));
  EXPECT_EQ(split_ids(ds, Split::test), slice(90, 100));
}

TEST_F(TextTest, LanguageModelStepsAcrossRowsKeepEveryTarget) {
  // Input x[p], target x[p+1]: rows of batchify are consecutive pieces of the split, so row b's
  // last target is row b+1's first input.
  Dataset ds(text_spec("abcdefghijklmnopqrstu", "ab", "ab"));  // 21 tokens, 20 steps
  auto it = ds.windows({.batch = 4, .k1 = 5, .k2 = 5});
  Window w;
  ASSERT_TRUE(it.next(w));
  EXPECT_EQ(w.T, 5);
  for (int b = 0; b < 4; ++b)
    for (int t = 0; t < 5; ++t) {
      EXPECT_EQ(w.tokens[cell(w, t, b)], 1 + 5 * b + t);  // ids: <unk> then a..u
      EXPECT_EQ(w.target_ids[cell(w, t, b)], 2 + 5 * b + t);
    }
  EXPECT_FALSE(it.next(w));
}

TEST_F(TextTest, StoredVocabularyEncodesAnotherCorpus) {
  Dataset trained(text_spec("abcab", "ab", "ab"));
  SourceSpec other = text_spec("cab xyz", "ab", "ab");
  Dataset ds(other, trained.vocabulary());
  EXPECT_EQ(ds.vocabulary(), trained.vocabulary());
  EXPECT_EQ(split_ids(ds, Split::train), (std::vector<int32_t>{3, 1, 2, 0, 0, 0, 0}));
  EXPECT_EQ(error_key([&] { Dataset(other, {"a", "b"}); }), "data.level") << "no <unk>: not a char vocabulary";
}

TEST(Brown, TagsAreStrippedToTheWordBeforeTheLastSlash) {
  const std::string plain = brown_plain_text((fixtures / "brown").string());
  EXPECT_EQ(plain,
            "The Fulton County said .\n"
            "It cost 1-1/2 dollars .\n"
            "Merger proposed\n"
            "`` Only a handful '' , the jury said .\n");
  const auto parts = split_at_words(plain, 7, 5);
  EXPECT_EQ(parts[0], "The Fulton County said .\nIt cost\n");
  EXPECT_EQ(parts[1], "1-1/2 dollars .\nMerger proposed\n");
  EXPECT_EQ(parts[2], "`` Only a handful '' , the jury said .\n");
}

TEST(Brown, WordLevelDatasetFromTheCache) {
  SourceSpec spec;
  spec.source = "brown";
  spec.level = "word";
  spec.cache = (fixtures / "brown").string();
  spec.split.fractions = {0.6, 0.2, 0.2};
  Dataset ds(spec);
  const auto& v = ds.vocabulary();
  EXPECT_NE(std::find(v.begin(), v.end(), "1-1/2"), v.end());
  EXPECT_NE(std::find(v.begin(), v.end(), "Fulton"), v.end());
  for (const auto& word : v)
    if (word.find('/') != std::string::npos) {
      EXPECT_EQ(word, "1-1/2") << "a tag survived";
    }
  EXPECT_EQ(ds.steps(Split::train) + ds.steps(Split::valid) + ds.steps(Split::test), 22 + 4 - 3)
      << "22 words and 4 <eos>, one step fewer than tokens per split";

  spec.split = {{}, "bengio2003"};
  EXPECT_EQ(error_key([&] { Dataset{spec}; }), "data.split") << "the fixture has far fewer than 10^6 words";
  spec.cache = "/nonexistent/cache";
  try {
    Dataset{spec};
    ADD_FAILURE() << "no error for a missing cache";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.setting(), "data.cache");
    EXPECT_NE(e.allowed().find("make brown"), std::string::npos);
  }
}

TEST_F(TextTest, BadInputIsAConfigErrorNamingItsKey) {
  SourceSpec spec;
  spec.source = "text";
  auto key = [&](auto change) {
    SourceSpec s = spec;
    change(s);
    return error_key([&] { Dataset{s}; });
  };
  const std::string good = write("good.txt", std::string(100, 'x') + "yz");
  spec.path = good;
  EXPECT_EQ(key([](SourceSpec&) {}), "no error");
  EXPECT_EQ(key([](SourceSpec& s) { s.path = ""; }), "data.path");
  EXPECT_EQ(key([&](SourceSpec& s) { s.path = (dir_ / "missing.txt").string(); }), "data.path");
  EXPECT_EQ(key([&](SourceSpec& s) { s.path = dir_.string(); }), "data.path");
  EXPECT_EQ(key([&](SourceSpec& s) { s.path = write("empty.txt", ""); }), "data.path");
  EXPECT_EQ(key([&](SourceSpec& s) { s.path = write("latin1.txt", "caf\xe9 au lait"); }), "data.path");
  EXPECT_EQ(key([&](SourceSpec& s) { s.valid_path = good; }), "data.test_path");
  EXPECT_EQ(key([&](SourceSpec& s) { s.valid_path = good, s.test_path = write("one.txt", "x"); }), "data.test_path");
  EXPECT_EQ(key([](SourceSpec& s) { s.split.fractions = {0.9, 0.05, 0.1}; }), "data.split");
  EXPECT_EQ(key([](SourceSpec& s) { s.split.fractions = {0.98, 0.01, 0.01}; }), "data.split") << "1 valid token";
  EXPECT_EQ(key([](SourceSpec& s) { s.split.name = "bengio2003"; }), "data.split") << "brown only";
  EXPECT_EQ(key([](SourceSpec& s) { s.level = "byte"; }), "data.level");
  EXPECT_EQ(key([](SourceSpec& s) { s.max_vocab = 2; }), "data.max_vocab");
  EXPECT_EQ(key([](SourceSpec& s) { s.min_count = 0; }), "data.min_count");
  EXPECT_EQ(key([](SourceSpec& s) { s.source = "txt"; }), "data.source");
  EXPECT_EQ(key([](SourceSpec& s) { s.source = "random_tokens", s.vocab = 1; }), "data.vocab");
  EXPECT_EQ(key([](SourceSpec& s) { s.source = "delayed_recall", s.lag = 0; }), "data.lag");
  EXPECT_EQ(key([](SourceSpec& s) { s.source = "sine", s.period = 0; }), "data.period");
  EXPECT_EQ(key([](SourceSpec& s) { s.source = "adding", s.sequence_length = 1; }), "data.sequence_length");

  // A split asked to be empty (fraction 0: nanoGPT's 90/10 has no test split) is refused only
  // when something uses it, naming the split's size setting.
  SourceSpec ninety_ten = spec;
  ninety_ten.split.fractions = {0.9, 0.1, 0.0};
  const Dataset no_test(ninety_ten);
  EXPECT_EQ(error_key([&] { no_test.windows_per_epoch({.split = Split::test, .batch = 1, .k1 = 5, .k2 = 5}); }), "data.split");
  EXPECT_EQ(error_key([&] { no_test.windows_per_epoch({.split = Split::valid, .batch = 1, .k1 = 5, .k2 = 5}); }), "no error");

  // A split too small for one window (drop_last) names the split's size setting.
  Dataset ds(spec);
  EXPECT_EQ(error_key([&] { ds.windows_per_epoch({.split = Split::test, .batch = 1, .k1 = 50, .k2 = 50, .drop_last = true}); }),
            "data.split");
  EXPECT_EQ(error_key([&] { ds.encode("caf\xe9"); }), "data.path");
}

}  // namespace
}  // namespace tbptt::data
