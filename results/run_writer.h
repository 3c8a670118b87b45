#pragma once
// RunWriter: the one writer of one run file, used by the run's group leader.
//
// The run file is built in memory (HDF5 core driver) and published whole: every flush writes
// the complete image to <run_id>.h5.part.tmp, fsyncs it and renames it over <run_id>.h5.part
// (atomic_file.h). A kill at any instant therefore leaves the previous image or the new one,
// never a torn file. Checkpoints are large, so each one is its own file, published the same way
// before the run file links it:
//
//   runs/<run_id>.h5.part           root attributes, train/ eval/ fidelity/ data/vocab
//        checkpoint/0000000120 ──external link──▶ runs/<run_id>.ckpt/0000000120.h5  (its "/")
//   runs/<run_id>.h5.lock           flock'ed while this writer lives (writer_lock.h)
//
// Life of a run:
//   construct   lock taken; attributes with status = "running"; first image published; then
//               the files it replaces go: a finished <run_id>.h5 (overwrite) and checkpoint
//               files no link points at (left by a kill between a checkpoint and its link)
//   append()    rows buffered; written and the image published once flush_seconds have passed
//   checkpoint  its file published, then rows + link published in the next image
//   finish()    last rows, end attributes, `status` last; image published; .part renamed to
//               <run_id>.h5 (so a file named .h5 is never partial); lock file removed
// A kill loses at most the rows of the last flush interval. If the writer is destroyed without
// finish() (an exception in the trainer), it publishes what it has and leaves status = "running".
//
// Every HDF5 or file-system failure throws WriteError naming the file; after one, the writer is
// unusable (and the last published image stays as it was).

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

class WriterLock;

struct RunOptions {
  std::filesystem::path out_dir;
  std::string experiment;
  std::string run_id;
  double flush_seconds = 10.0;                // 0 writes every row at once (tests)
  bool overwrite = false;                     // replace a finished <run_id>.h5 (and its checkpoint
                                              // files); otherwise it is an error
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
  // A resumed run: publishes `salvaged` (rows and its checkpoint, see run_reader.h) as the first
  // image of <run_id>.h5.part, replacing the old one in one rename. The salvaged checkpoint's
  // file is kept and linked again when it is this run's own (salvaged from this run's file);
  // otherwise its tensors are written to a new checkpoint file. Options must allow overwrite
  // if the salvaged file was a finished <run_id>.h5, which is then removed.
  RunWriter(RunOptions options, const Attributes& attributes, const Salvage& salvaged);
  ~RunWriter();
  RunWriter(const RunWriter&) = delete;
  RunWriter& operator=(const RunWriter&) = delete;

  void set_attributes(const Attributes& attributes);  // written now, replacing same names

  void append(const TrainRow& row);
  void append(const EvalRow& row);
  void append(const FidelityRow& row);  // row.group must index options.fidelity_groups
  void flush();                         // write pending rows and publish the image now

  void write_checkpoint(const Checkpoint& checkpoint);  // replaces one at the same update
  // Unlinks, publishes, then deletes the checkpoint's file; no-op if there is none.
  void delete_checkpoint(int64_t update);
  const std::set<int64_t>& checkpoints() const { return checkpoints_; }

  void finish(const Outcome& outcome);
  bool finished() const { return finished_; }
  // The file as it is named now: <run_id>.h5.part while running, <run_id>.h5 after finish().
  const std::filesystem::path& path() const { return path_; }

 private:
  struct Tables;
  void open(const Attributes& attributes);
  void add(const FidelityRow& row);          // checks the group, then buffers
  void maybe_flush();
  void write_rows();
  void publish();                            // rows, then the image over path_
  void store_checkpoint(const Checkpoint& checkpoint);  // its file, then its link (unpublished)
  void link_checkpoint(int64_t update);
  void remove_replaced_files();              // after the first publish
  void guard() const;  // throws if finished or broken
  template <class F>
  void guarded(F&& step);  // runs step; on WriteError marks the writer broken and rethrows

  RunOptions options_;
  std::filesystem::path final_path_, path_;
  std::unique_ptr<WriterLock> lock_;
  std::unique_ptr<Tables> tables_;  // the in-memory file and its open tables
  std::set<int64_t> checkpoints_;
  std::chrono::steady_clock::time_point start_, last_flush_;
  bool finished_ = false, broken_ = false;
};

}  // namespace tbptt::results
