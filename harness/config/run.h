#pragma once
// One fully resolved run of an experiment: what the harness hands to data, engine and results.
//
// Only validated, defaulted values can be read. Asking for a key the schema does not know, a key
// that does not apply to this run (e.g. data.lag when data.source = text; check has()), or the
// wrong type is a bug in the caller and throws std::logic_error.
//
// The run id is the first 12 hex digits of a 64-bit hash of yaml(), the canonical text (keys
// sorted, every default written out, no sweep): comments, key order and spelling (1e-3 vs
// 0.001) never change it; any change of a resolved value always does.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "harness/config/resolve.h"

namespace tbptt::harness {

// A resolved value as an HDF5 attribute can hold it (lists become their YAML text).
using Param = std::variant<int64_t, double, bool, std::string>;

// (dotted key, value as YAML text) for every swept key of a run, seeds first, in sweep order.
using SweptValues = std::vector<std::pair<std::string, std::string>>;

class Run {
 public:
  Run(size_t index, Resolved values, SweptValues swept);

  // T is int64_t (integers), double (numbers), bool, std::string (names, paths, choices, the
  // split "bengio2003"), std::vector<double> (data.split) or std::vector<std::string> (eval.splits).
  template <class T>
    requires(std::is_same_v<T, int64_t> || std::is_same_v<T, double> || std::is_same_v<T, bool> ||
             std::is_same_v<T, std::string> || std::is_same_v<T, std::vector<double>> ||
             std::is_same_v<T, std::vector<std::string>>)
  T get(std::string_view key) const;

  bool has(std::string_view key) const;  // false for keys that do not apply to this run

  size_t index() const { return index_; }               // position in sweep order (0-based)
  const std::string& yaml() const { return yaml_; }      // canonical resolved configuration
  const std::string& run_id() const { return run_id_; }  // 12 hex digits
  const SweptValues& swept() const { return swept_; }
  std::map<std::string, Param> params() const;          // every resolved key -> value

 private:
  const Value& value(std::string_view key) const;

  size_t index_;
  Resolved values_;
  SweptValues swept_;
  std::string yaml_;
  std::string run_id_;
};

// The canonical YAML text of a resolved configuration, and the id derived from it.
std::string canonical_yaml(const Resolved& values);
std::string run_id_of(std::string_view canonical);

}  // namespace tbptt::harness
