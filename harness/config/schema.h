#pragma once
// The one table of experiment settings. It drives defaults, validation, did-you-mean
// suggestions and the markdown reference (schema_markdown()), so they cannot drift apart.
//
// A setting may apply only when other settings have certain values (`when`), e.g. data.lag
// only when data.source = delayed_recall. Setting it explicitly otherwise is an error; left
// unset, it is absent from the resolved run (so it cannot change the run id).

#include <cstddef>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tbptt::harness {

enum class Type {
  integer,      // int64_t
  number,       // double, finite
  boolean,      // bool
  identifier,   // std::string of [A-Za-z0-9_.-], used in file names
  path,         // std::string, made absolute against the working directory
  choice,       // std::string, one of `choices`
  choice_list,  // std::vector<std::string>, distinct values from `choices`
  split,        // std::vector<double> of 3 fractions summing to 1, or the std::string "bengio2003"
};

// The setting applies when the (already resolved) value of `key` is one of `values` ("a|b").
struct Condition {
  std::string_view key = {};
  std::string_view values = {};
};

struct Setting {
  static constexpr double kInf = std::numeric_limits<double>::infinity();

  std::string_view key = {};       // dotted YAML key
  Type type = Type::integer;
  std::string_view fallback = {};  // default as YAML text; empty = none
  std::string_view follows = {};   // default = the resolved value of this key (e.g. tbptt.k2 follows tbptt.k1)
  bool required = false;           // must be given whenever it applies
  double min = -kInf, max = kInf;            // numeric range of integer / number
  bool min_open = false, max_open = false;   // exclusive bounds
  std::string_view choices = {};   // choice / choice_list: "lstm|gru|rnn_tanh"
  Condition when[2] = {};          // all non-empty conditions must hold for the setting to apply
  std::string_view doc = {};       // one line for the reference
};

std::span<const Setting> settings();                        // in table order (selectors first)
std::optional<size_t> setting_index(std::string_view key);  // index into settings()
const Setting* find_setting(std::string_view key);

// Sections are the maps that hold settings: "data", "train", "train.optimizer", ... ("" = top level).
bool is_section(std::string_view key);
std::vector<std::string> section_children(std::string_view section);  // names of settings and sub-sections

// What a setting accepts, for messages and the reference: "an integer in 1..64", "one of sgd, adam, adamw".
std::string describe_allowed(const Setting& s);
std::string describe_conditions(const Setting& s);  // "data.source = text|brown and data.level = word", or ""
std::string list_alternatives(std::string_view alternatives);  // "a|b|c" -> "a, b, c"
bool is_alternative(std::string_view alternatives, std::string_view value);  // is value one of "a|b|c"?

// The reference of every key as a markdown document (README material).
std::string schema_markdown();

}  // namespace tbptt::harness
