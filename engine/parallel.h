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

// Returns sum over i in [0, n) of f(i, acc), where f adds its terms into acc (K running sums).
inline constexpr int kMaxThreads = 512;

template <int K, class F>
std::array<double, K> ordered_sum(int64_t n, F f) {
  std::array<std::array<double, K>, kMaxThreads> partial{};  // on the stack: no allocation per call
  TBPTT_CHECK(omp_get_max_threads() <= kMaxThreads, "more OpenMP threads than tbptt supports (512)");
#pragma omp parallel
  {
    const int64_t nt = omp_get_num_threads(), id = omp_get_thread_num();
    std::array<double, K> acc{};
    for (int64_t i = n * id / nt, end = n * (id + 1) / nt; i < end; ++i) f(i, acc);
    partial[static_cast<size_t>(id)] = acc;
  }
  std::array<double, K> total{};
  for (int t = 0; t < omp_get_max_threads(); ++t)
    for (int k = 0; k < K; ++k) total[k] += partial[t][k];
  return total;
}

}  // namespace tbptt::engine
