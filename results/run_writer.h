#pragma once
// RunWriter: the one writer of one run file, used by the run's group leader.
//
// Life of a file:
//   construct   <run_id>.h5.part created; attributes written with status = "running"; flushed
//   append()    rows buffered in memory; written + H5Fflush'ed once flush_seconds have passed
//   checkpoint  pending rows, then the checkpoint, then H5Fflush
//   finish()    last rows, end attributes, `status` written last, file closed, then renamed
//               to <run_id>.h5 — so a file named .h5 is never partial
// A kill loses at most the rows of the last flush interval; the .part file still opens (default
// v0-superblock format, no SWMR). If the writer is destroyed without finish() (an exception in
// the trainer), it flushes and closes the .part file and leaves status = "running".
//
// Every HDF5 failure throws WriteError naming the file; after one, the writer is unusable.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "results/errors.h"
#include "results/run_reader.h"
#include "results/schema.h"
#include "results/value.h"

namespace tbptt::results {

struct RunOptions {
  std::filesystem::path out_dir;
  std::string experiment;
  std::string run_id;
  double flush_seconds = 10.0;                // 0 writes every row at once (tests)
  bool overwrite = false;                     // delete a finished <run_id>.h5; otherwise it is an error
  std::vector<std::string> fidelity_groups;   // non-empty: create fidelity/ with these group names
  std::vector<std::string> vocab;             // non-empty: write data/vocab (token strings by id)
};

struct Outcome {
  RunStatus status = RunStatus::completed;
  std::string error;                 // empty unless failed / diverged / interrupted
  int64_t diverged_at_update = -1;   // -1: did not diverge
  Attributes attributes;             // end-of-run facts: peak_rss_bytes, ... (may override
                                     // end_time and wall_time_s, which finish() sets otherwise)
};

class RunWriter {
 public:
  // A new run. The writer sets schema_version, experiment, run_id, status, error,
  // diverged_at_update, start_time and version.hdf5; `attributes` come after and win.
  RunWriter(RunOptions options, const Attributes& attributes);
  // A resumed run: writes `salvaged` (rows and its checkpoint, see run_reader.h) into a fresh
  // <run_id>.h5.part.new, flushes it, and renames it over <run_id>.h5.part. A kill at any moment
  // leaves either the old or the new .part file, never neither.
  RunWriter(RunOptions options, const Attributes& attributes, const Salvage& salvaged);
  ~RunWriter();
  RunWriter(const RunWriter&) = delete;
  RunWriter& operator=(const RunWriter&) = delete;

  void set_attributes(const Attributes& attributes);  // written now, replacing same names

  void append(const TrainRow& row);
  void append(const EvalRow& row);
  void append(const FidelityRow& row);  // row.group must index options.fidelity_groups
  void flush();                         // write pending rows and H5Fflush now

  void write_checkpoint(const Checkpoint& checkpoint);  // replaces one at the same update
  void delete_checkpoint(int64_t update);               // no-op if there is none
  const std::set<int64_t>& checkpoints() const { return checkpoints_; }

  void finish(const Outcome& outcome);
  bool finished() const { return finished_; }
  // The file as it is named now: <run_id>.h5.part while running, <run_id>.h5 after finish().
  const std::filesystem::path& path() const { return path_; }

 private:
  struct Tables;
  void open(const Attributes& attributes, bool resuming);
  void maybe_flush();
  void write_rows();
  void guard() const;  // throws if finished or broken
  template <class F>
  void guarded(F&& step);  // runs step; on WriteError marks the writer broken and rethrows

  RunOptions options_;
  std::filesystem::path final_path_, path_;
  std::unique_ptr<Tables> tables_;  // the file handle and its open tables
  std::set<int64_t> checkpoints_;
  std::chrono::steady_clock::time_point start_, last_flush_;
  bool finished_ = false, broken_ = false;
};

}  // namespace tbptt::results
