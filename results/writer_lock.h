#pragma once
// Whether a run's writer is alive: the lock file <run_id>.h5.lock beside the run file.
//
//   writer starts     creates the lock file and holds an exclusive flock() on it
//   finish / ~writer  removes the file, then lets go of the lock
//   writer killed     the kernel drops the flock with the process; the file stays, unlocked
//
// So a lock file that is held means "running"; one that is absent or not held means nobody
// writes the run (its .part, if any, is "incomplete"). The run file itself cannot carry this
// any more: it is replaced by rename at every flush, so a lock on it would not last.

#include <filesystem>

#include "results/errors.h"

namespace tbptt::results {

class WriterLock {
 public:
  // Creates (or reuses a stale) `path` and locks it. Throws WriteError if another writer, in
  // this process or another, holds it.
  explicit WriterLock(std::filesystem::path path);
  ~WriterLock();  // removes the file and releases the lock
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

  // True if a live writer holds the lock file at `path`.
  static bool held(const std::filesystem::path& path);

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace tbptt::results
