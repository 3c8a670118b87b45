#include "harness/rank_group.h"

#include <algorithm>
#include <climits>
#include <cstring>

#include "common/check.h"
#include "common/counter_rng.h"

namespace tbptt::harness {
namespace {

enum Flag { kError = RankGroup::kUserSums, kInterrupt, kStop, kSums };

void check_mpi(int status, const char* what) {
  TBPTT_CHECK(status == MPI_SUCCESS, std::string(what) + " failed");
}

}  // namespace

RankGroup::RankGroup(MPI_Comm comm) : comm_(comm) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

RankGroup::~RankGroup() {
  if (comm_ != MPI_COMM_NULL && comm_ != MPI_COMM_WORLD && comm_ != MPI_COMM_SELF) MPI_Comm_free(&comm_);
}

void RankGroup::allreduce_sum(std::span<float> grads, std::span<double> sums) {
  TBPTT_CHECK(sums.size() <= static_cast<size_t>(kUserSums), "too many sums for one round");
  double round[kSums] = {};
  std::copy(sums.begin(), sums.end(), round);
  round[kInterrupt] = interrupt_ ? 1 : 0;
  round[kStop] = stop_ ? 1 : 0;
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, round, kSums, MPI_DOUBLE, MPI_SUM, comm_), "MPI_Allreduce of the round's sums");
  stop_agreed_ = round[kStop] > 0;
  if (round[kError] > 0) throw RunAborted(false, "a rank of this run failed (its error is on its stderr)");
  if (round[kInterrupt] > 0) throw RunAborted(true, "interrupted by a signal");
  std::copy(round, round + sums.size(), sums.begin());
  // The flat gradient buffer: one allreduce (split only beyond 2^31 elements, MPI's count limit).
  for (size_t at = 0; at < grads.size(); at += INT_MAX) {
    const int n = static_cast<int>(std::min<size_t>(INT_MAX, grads.size() - at));
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, grads.data() + at, n, MPI_FLOAT, MPI_SUM, comm_), "MPI_Allreduce of gradients");
  }
}

void RankGroup::fail() {
  double round[kSums] = {};
  round[kError] = 1;
  MPI_Allreduce(MPI_IN_PLACE, round, kSums, MPI_DOUBLE, MPI_SUM, comm_);
}

bool RankGroup::replicas_identical(std::span<const float> params) {
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  const auto* bytes = reinterpret_cast<const uint32_t*>(params.data());
  for (size_t i = 0; i < params.size(); ++i) h = rng::mix64(h ^ bytes[i]);
  uint64_t lo = h, hi = h;
  MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UINT64_T, MPI_MIN, comm_);
  MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UINT64_T, MPI_MAX, comm_);
  return lo == hi;
}

}  // namespace tbptt::harness
