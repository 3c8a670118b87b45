#pragma once
// `tbptt run`: a whole sweep on MPI_COMM_WORLD.
//
//   parse + plan        every rank, BEFORE MPI starts (deterministic); bad input -> exit 2 with
//                       nothing written and no MPI job started (prepare_sweep)
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

#include "harness/config/experiment.h"
#include "harness/plan.h"

namespace tbptt::harness {

struct RunCommand {
  std::string experiment;               // the YAML file
  std::vector<std::string> sets;        // --set dotted.key=value
  std::filesystem::path out_dir = "results";
  bool resume = false, overwrite = false;
  // auto: a redrawn bar when stdout is a terminal and not under mpirun (whose ranks always see a
  // pseudo-terminal, even when mpirun writes to a log); else plain lines (logs, SLURM).
  std::string progress = "auto";
};

struct PreparedSweep {
  Experiment experiment;
  std::vector<PlannedRun> plan;
};

// From here on SIGINT and SIGTERM only raise the flag that ends the sweep gracefully (every run
// checkpoints and records `interrupted`). Call first, before MPI_Init and before any OpenMP
// region: the threads those create must inherit the blocked signals.
void catch_stop_signals();

// Parses and plans without MPI. Throws ExperimentError / ConfigError on bad input.
PreparedSweep prepare_sweep(const RunCommand& command);

// Runs a prepared sweep; MPI must be initialised. Returns the exit status.
int run_sweep(const RunCommand& command, const PreparedSweep& sweep);

// True once this process failed to write a results file (full disk, quota, file-size limit).
bool results_unwritable();

// This process's rank as its launcher set it (Open MPI, PMIx, PMI, SLURM), before MPI_Init; 0 if none.
int launcher_rank();

}  // namespace tbptt::harness
