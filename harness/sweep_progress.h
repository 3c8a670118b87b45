#pragma once
// What world rank 0 prints while a sweep runs: one line per finished run, and a status line
// (runs done / total, running, failed, elapsed, ETA from the planned costs). On a terminal the
// status line redraws in place with a bar; otherwise (logs under SLURM) it is printed as a plain
// line at most every 30 seconds.

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "harness/plan.h"
#include "harness/run_executor.h"

namespace tbptt::harness {

class SweepProgress {
 public:
  SweepProgress(const std::vector<PlannedRun>& plan, std::vector<size_t> todo, std::ostream& out, bool tty);

  void started(size_t position);  // a run (its position in the plan) began on some group
  void finished(size_t position, const RunResult& result);
  // Rank 0's own run advanced (updates done of total): refreshes the status line when due.
  void tick(const RunTick& tick);
  void close();  // ends the status line

  int failed() const { return failed_; }

 private:
  void status(bool force);
  double eta_seconds() const;

  const std::vector<PlannedRun>& plan_;
  std::ostream& out_;
  bool tty_;
  size_t total_, done_ = 0;
  int running_ = 0, failed_ = 0;
  double total_cost_ = 0, done_cost_ = 0, current_cost_ = 0, current_fraction_ = 0;
  std::chrono::steady_clock::time_point start_, last_status_;
  bool status_shown_ = false;
};

}  // namespace tbptt::harness
