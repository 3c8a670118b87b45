#pragma once
// An experiment as validated values: every setting it assigns (typed, located) and its sweep axes.
// Whether a value suits the other values of a run (k2 >= k1, a key that does not apply to the
// chosen data source, ...) is decided per run by resolve(), because any of them may be swept.

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "harness/config/source_tree.h"
#include "harness/config/value.h"

namespace tbptt::harness {

// A value the experiment gives a setting: from the file, a --set, or one element of a sweep list.
struct Assigned {
  size_t setting = 0;  // index into settings()
  Value value;
  Location where;
};

struct SweepAxis {
  enum class Kind { seeds, grid, zip };
  Kind kind = Kind::grid;
  size_t setting = 0;            // the swept setting (`seed` for seeds)
  std::vector<Assigned> values;  // one per list element, located at the element
  Location where;                // of the list
};

struct ExperimentSpec {
  std::vector<Assigned> plain;  // settings outside the sweep, in file order, each at most once
  std::vector<SweepAxis> axes;  // seeds, then grid keys in file order, then zip keys in file order
  bool skip_invalid = false;
  Location sweep_where;         // of the sweep map (the top level when there is none)
  std::map<std::string, Location> sections;  // maps written in the file: "" (top level), "data", ...

  // Where a setting's value is written: the sweep list if swept, else its value, else the
  // nearest enclosing map written in the file (at worst the top level).
  Location locate(std::string_view key) const;
};

// Checks keys (unknown ones get a did-you-mean), types and ranges; throws ExperimentError.
ExperimentSpec read_spec(const SourceNode& root);

}  // namespace tbptt::harness
