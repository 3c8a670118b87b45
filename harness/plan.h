#pragma once
// The plan of a sweep: every run with its swept values, updates, predicted peak memory and
// relative cost, computed without training. `tbptt plan` prints it; `tbptt run` orders the
// runs by it (largest cost first) and reports progress and ETA in its terms.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "harness/config/experiment.h"

namespace tbptt::harness {

struct PlannedRun {
  size_t index = 0;           // in sweep order
  std::string run_id;
  SweptValues swept;
  int ranks_per_run = 1;
  int64_t updates = 0;        // planned weight updates
  double flops = 0;           // GEMM FLOPs of the whole run (all ranks)
  double cost = 0;            // flops plus every update's fixed cost, in FLOP-equivalents (orders runs, drives the ETA)
  int64_t peak_bytes = 0;     // predicted peak resident memory of one rank
};

// Opens each distinct data set once. Throws ExperimentError (a library's ConfigError, located).
std::vector<PlannedRun> plan_runs(const Experiment& experiment);

// "k1=5 batch=16": the swept values of a run by their last key component.
std::string swept_text(const SweptValues& swept);

void print_plan(const Experiment& experiment, const std::vector<PlannedRun>& runs, std::ostream& out);

}  // namespace tbptt::harness
