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
  // Two 20-bit pieces of a 64-bit hash, summed with their squares in one round: every rank has
  // the same h exactly when P * sum(h^2) == sum(h)^2 (all values stay below 2^53: exact in doubles).
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  const auto* bits = reinterpret_cast<const uint32_t*>(params.data());
  for (size_t i = 0; i < params.size(); ++i) h = rng::mix64(h ^ bits[i]);
  const double a = static_cast<double>(h & 0xFFFFF), b = static_cast<double>((h >> 20) & 0xFFFFF);
  double sums[4] = {a, a * a, b, b * b};
  sum(sums);
  const double P = size_;
  return P * sums[1] == sums[0] * sums[0] && P * sums[3] == sums[2] * sums[2];
}

}  // namespace tbptt::harness
