#pragma once
// Attribute values: what a run file records about itself besides its rows.
//
// The caller hands the writer an ordered list of (name, value); names are dotted YAML keys for
// resolved parameters ("tbptt.k1") and plain words for facts about the run ("hosts"). On disk:
//   int64_t                  -> scalar int64
//   double                   -> scalar float64
//   bool                     -> scalar int8 (0 / 1); any 1-byte integer reads back as bool
//   std::string              -> scalar variable-length UTF-8 string (h5py returns str)
//   std::vector<std::string> -> 1-D variable-length UTF-8 strings (possibly empty)

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace tbptt::results {

using Value = std::variant<int64_t, double, bool, std::string, std::vector<std::string>>;
using Attributes = std::vector<std::pair<std::string, Value>>;

// The value named `name`, or nullptr. The last entry wins, as it does when written to a file.
inline const Value* find(const Attributes& attributes, std::string_view name) {
  const Value* found = nullptr;
  for (const auto& [key, value] : attributes)
    if (key == name) found = &value;
  return found;
}

// The value named `name` if it holds a T, otherwise `fallback`.
template <class T>
T get_or(const Attributes& attributes, std::string_view name, T fallback) {
  const Value* value = find(attributes, name);
  if (value == nullptr || !std::holds_alternative<T>(*value)) return fallback;
  return std::get<T>(*value);
}

// A value as a person would type it: 20, 0.002, true, lstm, [a, b]. Doubles use the shortest
// text that reads back to the same number.
std::string to_text(const Value& value);

}  // namespace tbptt::results
