#pragma once
// One run, executed by the ranks of one group: data shard -> TBPTT trainer -> results file.
//
//   setup     open the data, build the model and trainer, create (or salvage) the run file
//   train     window -> update -> row; evaluate and checkpoint when due; stop at the end of the
//             epochs / steps / time budget, at divergence (NaN/Inf), or when a rank fails
//   finish    final evaluation and checkpoint, peak memory, status written last (leader)
//
// A failure never stops the sweep: the run is recorded as failed (with its message) or
// diverged (with the update), and the group goes on to its next run.

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>

#include "harness/config/run.h"
#include "harness/rank_group.h"
#include "results/schema.h"

namespace tbptt::harness {

struct RunTick {
  const std::string& run_id;
  int64_t update = 0, total = 0;  // updates done, updates planned
  double time_fraction = 0;       // of train.max_time spent (0 without a limit): such a run ends by the clock
  double loss = 0;
};

struct RunEnvironment {
  std::filesystem::path out_dir;
  std::string experiment;
  bool resume = false;        // continue an incomplete run from its newest checkpoint
  bool overwrite = false;     // replace a finished run file of the same id
  std::function<void(const RunTick&)> tick;  // after every update, on every rank
  const std::atomic<bool>* interrupted = nullptr;  // raised by SIGINT / SIGTERM
};

struct RunResult {
  results::RunStatus status = results::RunStatus::completed;
  std::string error;
  double final_train_loss = results::kNaN, final_valid_loss = results::kNaN;
  double seconds = 0;
  int64_t updates = 0;
  bool output_failed = false;  // the results file could not be written (full disk, ...): stop the sweep
};

// Collective over the group. Only the leader's result is meaningful to the sweep.
RunResult execute_run(const Run& run, RankGroup& group, const RunEnvironment& env);

}  // namespace tbptt::harness
