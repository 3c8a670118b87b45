#pragma once
// Dynamic scheduling of a sweep's runs over rank groups.
//
// The runs are ordered largest predicted cost first; a counter on world rank 0 says which comes
// next. A group's leader takes it with one MPI_Fetch_and_op (passive target: rank 0 need not be
// listening) and broadcasts it to its group. A group that draws a number past the end is done.
// Every run is therefore executed exactly once, and a group that drew short runs simply draws
// again, so uneven sweeps finish when the work, not the slowest static share, is done.

#include <mpi.h>

#include <cstdint>

#include "harness/rank_group.h"

namespace tbptt::harness {

class RunQueue {
 public:
  RunQueue(MPI_Comm world, int64_t runs);  // collective over world
  ~RunQueue();                             // collective over world
  RunQueue(const RunQueue&) = delete;
  RunQueue& operator=(const RunQueue&) = delete;

  // Collective over the group: the next run's position in the order, or -1 when none is left
  // or a rank of the group says `stop` (a signal arrived, results cannot be written): then no
  // group of the phase starts anything new either.
  int64_t next(const RankGroup& group, bool stop = false);

 private:
  MPI_Win window_ = MPI_WIN_NULL;
  int64_t* counter_ = nullptr;  // on world rank 0
  int64_t runs_;
};

}  // namespace tbptt::harness
