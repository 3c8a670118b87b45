#include "harness/run_queue.h"

#include "common/check.h"

namespace tbptt::harness {

RunQueue::RunQueue(MPI_Comm world, int64_t runs) : runs_(runs) {
  int rank = 0;
  MPI_Comm_rank(world, &rank);
  const MPI_Aint bytes = rank == 0 ? sizeof(int64_t) : 0;
  TBPTT_CHECK(MPI_Win_allocate(bytes, sizeof(int64_t), MPI_INFO_NULL, world, &counter_, &window_) == MPI_SUCCESS,
              "MPI_Win_allocate for the run counter");
  if (rank == 0) *counter_ = 0;
  MPI_Barrier(world);  // nobody draws before the counter is zero
}

RunQueue::~RunQueue() { MPI_Win_free(&window_); }

int64_t RunQueue::next(const RankGroup& group, bool stop) {
  // A signal or a write failure may have reached one rank of the group only (kill PID): the group
  // stops if any of its ranks says so, else the others would go on drawing runs with it.
  int any = stop ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_MAX, group.comm());
  stop = any != 0;
  int64_t drawn = runs_;
  if (group.leader()) {
    // stop closes the queue for every group: adding `runs_` puts the counter past the end for good
    // (the same MPI_SUM as a draw: MPI does not promise atomicity between different operations).
    const int64_t step = stop ? runs_ : 1;
    MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, window_);
    MPI_Fetch_and_op(&step, &drawn, MPI_INT64_T, 0, 0, MPI_SUM, window_);
    MPI_Win_unlock(0, window_);
    if (stop) drawn = runs_;
  }
  MPI_Bcast(&drawn, 1, MPI_INT64_T, 0, group.comm());
  return drawn < runs_ ? drawn : -1;
}

}  // namespace tbptt::harness
