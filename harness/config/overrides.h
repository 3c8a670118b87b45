#pragma once
// `--set dotted.key=value`: command-line edits of an experiment, applied before validation.
//
// VALUE is parsed as YAML, so `--set tbptt.k1=5` is an integer, `--set sweep.grid.tbptt.k1=[5,10]`
// a list, `--set sweep={}` an empty map (which clears the sweep) and `--set data.path=x.txt` a
// string. The key's last component is replaced, or created along with any missing maps. Keys of
// sweep.grid and sweep.zip are dotted themselves: `sweep.grid.tbptt.k1` sets grid key `tbptt.k1`.
// Everything set this way is located as "--set KEY=VALUE" in later messages.

#include <string_view>

#include "harness/config/source_tree.h"

namespace tbptt::harness {

void apply_set(SourceNode& root, std::string_view argument);

}  // namespace tbptt::harness
