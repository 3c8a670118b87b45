#pragma once
// One run's complete configuration: every setting that applies gets a value (its own, its
// default, or the value of the setting it follows), settings that do not apply are absent, and
// the rules tying settings together are checked.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "harness/config/spec.h"

namespace tbptt::harness {

// Indexed like settings(); std::nullopt = the setting does not apply (or is optional and unset).
using Resolved = std::vector<std::optional<Value>>;

// Why a combination of values is impossible, blamed on one setting (whose location is reported).
struct Problem {
  size_t setting = 0;
  std::string message;
};

// slots[i] is the value this run assigns to setting i (from the file, a --set or the sweep), or
// nullptr. On success fills `out` (relative paths made absolute against the working directory)
// and returns std::nullopt.
std::optional<Problem> resolve(std::span<const Assigned* const> slots, Resolved& out);

}  // namespace tbptt::harness
