#pragma once
// The sweep index <out_dir>/<experiment>.h5: one external link per run file under runs/<run_id>
// and a summary/ table with one row per run. It is derived data: rebuild_index() rescans the run
// files and replaces the index atomically (write <experiment>.h5.tmp, rename), so the index can
// never disagree with the runs for longer than one rebuild.
//
// Status of a run in the summary:
//   <run_id>.h5          the status the writer recorded (completed | diverged | failed | interrupted)
//   <run_id>.h5.part     "running" while a live writer holds <run_id>.h5.lock (writer_lock.h),
//                        else "incomplete" (the writer was killed; rows up to its last flush)
// The <run_id>.ckpt/ folders of checkpoint files are not runs: scan_runs() skips them.
//   unopenable file      "unreadable", with HDF5's message as the error (and no link)

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "results/errors.h"
#include "results/schema.h"
#include "results/value.h"

namespace tbptt::results {

struct RunSummary {
  std::string run_id, status, error;
  std::string file;       // relative to out_dir: <experiment>/runs/<run_id>.h5[.part]
  Attributes parameters;  // the run's values of the swept keys it has
  double final_train_loss = kNaN;  // last train row
  double final_valid_loss = kNaN;  // last eval row of split valid
  double best_valid_loss = kNaN;   // smallest valid loss
  double tokens_per_s = kNaN;      // median over the run's updates
  double peak_rss_bytes = kNaN, wall_time_s = kNaN;
  int64_t updates = 0;             // train rows
};

struct SweepSummary {
  std::string experiment;
  std::vector<std::string> swept;  // union of the runs' `swept` keys, in first-seen order
  std::vector<RunSummary> runs;    // by run_id
};

// Reads every <run_id>.h5 and <run_id>.h5.part in <out_dir>/<experiment>/runs (a finished file
// wins over a .part of the same id). Never throws for a bad run file: it becomes "unreadable".
SweepSummary scan_runs(const std::filesystem::path& out_dir, const std::string& experiment);

// scan_runs() written as the index; returns what was written. Throws WriteError.
SweepSummary rebuild_index(const std::filesystem::path& out_dir, const std::string& experiment);

// The summary table of an index file. Throws ReadError.
SweepSummary read_index(const std::filesystem::path& index);

}  // namespace tbptt::results
