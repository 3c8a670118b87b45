#pragma once
// Deterministic parallel sums. OpenMP's reduction clause combines per-thread partials in arrival
// order, so the last bits of a loss or a gradient norm could differ between two identical runs.
// Here each thread owns a fixed slice of [0, n) and the partials are added in thread order: the
// result is bitwise reproducible for a given thread count.

#include <omp.h>

#include <array>
#include <cstdint>

#include "common/check.h"

namespace tbptt::engine {

inline constexpr int kMaxThreads = 512;

// Loops over fewer elements than this run on the calling thread alone (`omp parallel if`): waking
// and joining the team costs microseconds, and far more when another process holds a core, which
// would dominate a small model's update (a dozen such loops per update).
inline constexpr int64_t kParallelMin = 1 << 14;

// One row of K running sums per thread, on the caller's stack: no allocation per call.
template <int K>
using ThreadPartials = std::array<std::array<double, K>, kMaxThreads>;

// The contiguous slice [begin, end) of [0, n) owned by the calling thread of a parallel region.
struct Slice {
  int64_t begin, end;
};
inline Slice thread_slice(int64_t n) {
  const int64_t nt = omp_get_num_threads(), id = omp_get_thread_num();
  return {n * id / nt, n * (id + 1) / nt};
}

inline void check_thread_count() {
  TBPTT_CHECK(omp_get_max_threads() <= kMaxThreads, "more OpenMP threads than tbptt supports (512)");
}

// Partials must be zero-initialised: a region may run on fewer threads than the maximum.
template <int K>
std::array<double, K> sum_in_thread_order(const ThreadPartials<K>& partial) {
  std::array<double, K> total{};
  for (int t = 0; t < omp_get_max_threads(); ++t)
    for (int k = 0; k < K; ++k) total[k] += partial[t][k];
  return total;
}

// Returns sum over i in [0, n) of f(i, acc), where f adds its terms into acc (K running sums).
// The lambda is compiled for the baseline ISA (see simd.h): use it for short or scalar loops.
template <int K, class F>
std::array<double, K> ordered_sum(int64_t n, F f) {
  ThreadPartials<K> partial{};
  check_thread_count();
#pragma omp parallel if (n >= kParallelMin)
  {
    std::array<double, K> acc{};
    for (auto [i, end] = thread_slice(n); i < end; ++i) f(i, acc);
    partial[static_cast<size_t>(omp_get_thread_num())] = acc;
  }
  return sum_in_thread_order<K>(partial);
}

}  // namespace tbptt::engine
