#pragma once
// `tbptt run`: a whole sweep on MPI_COMM_WORLD.
//
//   parse + plan        every rank (deterministic); bad input -> exit 2 before anything is written
//   check the output    rank 0: refuse to overwrite silently, create folders, probe writability,
//                       on --resume find what is already done
//   phases              one per value of parallel.ranks_per_run: the world splits into groups of
//                       that many ranks (leftover ranks idle), groups draw runs largest first
//   report              rank 0 prints each finished run and a status line, rebuilds the index
//
// Exit status: 0 every run completed, 1 some run did not (the sweep still finished), 2 bad
// input or usage (nothing written).

#include <filesystem>
#include <string>
#include <vector>

namespace tbptt::harness {

struct RunCommand {
  std::string experiment;               // the YAML file
  std::vector<std::string> sets;        // --set dotted.key=value
  std::filesystem::path out_dir = "results";
  bool resume = false, overwrite = false;
};

int run_sweep(const RunCommand& command);  // MPI must be initialised

}  // namespace tbptt::harness
