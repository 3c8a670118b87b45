#include "harness/config/run.h"

#include <algorithm>
#include <cstdio>

#include "common/check.h"
#include "common/counter_rng.h"

namespace tbptt::harness {

Run::Run(size_t index, Resolved values, SweptValues swept)
    : index_(index), values_(std::move(values)), swept_(std::move(swept)), yaml_(canonical_yaml(values_)),
      run_id_(run_id_of(yaml_)) {}

bool Run::has(std::string_view key) const {
  const auto i = setting_index(key);
  TBPTT_CHECK(i.has_value(), "no setting is called " + std::string(key));
  return values_[*i].has_value();
}

const Value& Run::value(std::string_view key) const {
  TBPTT_CHECK(has(key), std::string(key) + " has no value in this run (it applies when " +
                            describe_conditions(*find_setting(key)) + "); ask has() first");
  return *values_[*setting_index(key)];
}

template <class T>
  requires(std::is_same_v<T, int64_t> || std::is_same_v<T, double> || std::is_same_v<T, bool> ||
           std::is_same_v<T, std::string> || std::is_same_v<T, std::vector<double>> ||
           std::is_same_v<T, std::vector<std::string>>)
T Run::get(std::string_view key) const {
  const T* typed = std::get_if<T>(&value(key));
  TBPTT_CHECK(typed != nullptr, std::string(key) + " holds another type: " + format_value(value(key)));
  return *typed;
}

template int64_t Run::get<int64_t>(std::string_view) const;
template double Run::get<double>(std::string_view) const;
template bool Run::get<bool>(std::string_view) const;
template std::string Run::get<std::string>(std::string_view) const;
template std::vector<double> Run::get<std::vector<double>>(std::string_view) const;
template std::vector<std::string> Run::get<std::vector<std::string>>(std::string_view) const;

std::map<std::string, Param> Run::params() const {
  std::map<std::string, Param> out;
  const std::span<const Setting> all = settings();
  for (size_t i = 0; i < all.size(); ++i) {
    if (!values_[i]) continue;
    const std::string key(all[i].key);
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, std::vector<double>> || std::is_same_v<V, std::vector<std::string>>)
            out.emplace(key, format_value(v));
          else
            out.emplace(key, v);
        },
        *values_[i]);
  }
  return out;
}

// Nested block YAML with keys sorted at every level. Sorting the dotted keys gives the same order,
// since '.' sorts before every character keys use ([a-z0-9_]):
//
//   data.level, data.source, model.cell, name   ->   data:            model:
//                                                      level: char      cell: lstm
//                                                      source: text   name: demo
std::string canonical_yaml(const Resolved& values) {
  static const std::vector<size_t> order = [] {
    std::vector<size_t> o(settings().size());
    for (size_t i = 0; i < o.size(); ++i) o[i] = i;
    std::sort(o.begin(), o.end(), [](size_t a, size_t b) { return settings()[a].key < settings()[b].key; });
    return o;
  }();
  std::string out;
  std::vector<std::string_view> open;  // the sections of the previous key
  for (size_t i : order) {
    if (!values[i]) continue;
    std::vector<std::string_view> parts;
    for (std::string_view rest = settings()[i].key;;) {
      const size_t dot = rest.find('.');
      parts.push_back(rest.substr(0, dot));
      if (dot == std::string_view::npos) break;
      rest.remove_prefix(dot + 1);
    }
    size_t common = 0;
    while (common < open.size() && common + 1 < parts.size() && open[common] == parts[common]) ++common;
    for (size_t depth = common; depth + 1 < parts.size(); ++depth)
      out += std::string(2 * depth, ' ') + std::string(parts[depth]) + ":\n";
    out += std::string(2 * (parts.size() - 1), ' ') + std::string(parts.back()) + ": " + format_value(*values[i]) + "\n";
    open.assign(parts.begin(), parts.end() - 1);
  }
  return out;
}

std::string run_id_of(std::string_view canonical) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a, then SplitMix's finaliser so every bit depends on every byte
  for (unsigned char c : canonical) h = (h ^ c) * 0x100000001b3ULL;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(rng::mix64(h)));
  return std::string(hex, 12);
}

}  // namespace tbptt::harness
