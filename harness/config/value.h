#pragma once
// Typed setting values: checking what the user wrote against the schema, and writing values back
// as canonical YAML.
//
// Numbers follow YAML 1.2's core schema, strictly: `10` is an integer, `"10"` is a string and is
// rejected where a number is expected, `yes` is not a boolean, `.nan` and `.inf` are recognised
// so that the message can say they are not finite. An integer setting accepts a float literal
// with an integral value (`1e6`).

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "harness/config/schema.h"
#include "harness/config/source_tree.h"

namespace tbptt::harness {

using Value = std::variant<int64_t, double, bool, std::string, std::vector<double>, std::vector<std::string>>;

// Checks `node` against the setting; throws ExperimentError located at the offending node (for a
// list, at the offending element). Paths are returned as written (resolve() makes them absolute).
Value parse_value(const Setting& s, const SourceNode& node);

// Canonical YAML of a value: shortest round-trip numbers (floats always with '.' or 'e'), strings
// quoted only when YAML would read them as something else, lists in flow style.
std::string format_value(const Value& v);

// Shortest text that reads back as the same double ("0.001", "1e-08", "25").
std::string format_number(double x);

}  // namespace tbptt::harness
