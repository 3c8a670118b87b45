#pragma once
// Row-major f32 GEMM on oneDNN's sgemm: C = op(A) * op(B) + beta * C, where op is the matrix ('N')
// or its transpose ('T'). It packs its operands on every call, which on the shapes of a whole
// window costs little next to the product (an LSTM's per-step products, where it would not, run on
// matmul primitives with weights packed once per pass instead).
//
// Two ways to thread it, each where it measured faster (bench/README.md):
//   sgemm         oneDNN's own split: the forward products, X W_ih and the head's logits;
//   sgemm_blocks  C cut into one block per OpenMP thread along its longer side, each block a
//                 one-thread sgemm (oneDNN's sgemm runs on one thread inside a parallel region):
//                 the backward products. On 2 threads it took the seed LM's LSTM weight gradients
//                 from 2.33 to 1.93 ms and its dX from 0.91 to 0.76 ms inside the update, where
//                 the forward products ran 10-20% slower cut this way.
// Both cut by thread count only: the bits are reproducible for a thread count.

#include <dnnl.hpp>
#include <omp.h>

#include <cstdint>

#include "common/check.h"
#include "engine/parallel.h"

namespace tbptt::engine {

inline void sgemm(char ta, char tb, int M, int N, int K, const float* A, int lda, const float* B, int ldb, float beta,
                  float* C, int ldc) {
  const auto status = dnnl::sgemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
  TBPTT_CHECK(status == dnnl::status::success, "dnnl::sgemm rejected its arguments");
}

// Products under this many multiply-adds run as one sgemm: a block per thread would not pay for
// waking the team (a tiny model's products).
inline constexpr int64_t kBlocksMinMacs = int64_t{1} << 22;

inline void sgemm_blocks(char ta, char tb, int M, int N, int K, const float* A, int lda, const float* B, int ldb,
                         float beta, float* C, int ldc) {
  constexpr int kAlign = 16;  // blocks start on multiples of 16 rows or columns (64 bytes of C)
  const bool by_rows = M >= N;
  const int side = by_rows ? M : N, units = side / kAlign;
  if (static_cast<int64_t>(M) * N * K < kBlocksMinMacs || units < 2 || omp_get_max_threads() == 1)
    return sgemm(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
  bool ok = true;
#pragma omp parallel reduction(&& : ok)
  {
    const auto [u0, u1] = thread_slice(units);  // the last block also takes the ragged end
    const int begin = static_cast<int>(u0) * kAlign, end = u1 == units ? side : static_cast<int>(u1) * kAlign;
    const size_t b = static_cast<size_t>(begin);
    if (end > begin) {  // rows [begin, end) of C are op(A)'s; columns, op(B)'s
      const auto status =
          by_rows ? dnnl::sgemm(ta, tb, end - begin, N, K, 1.0f, ta == 'N' ? A + b * lda : A + b, lda, B, ldb, beta,
                                C + b * ldc, ldc)
                  : dnnl::sgemm(ta, tb, M, end - begin, K, 1.0f, A, lda, tb == 'N' ? B + b : B + b * ldb, ldb, beta,
                                C + b, ldc);
      ok = status == dnnl::status::success;
    }
  }
  TBPTT_CHECK(ok, "dnnl::sgemm rejected its arguments");
}

}  // namespace tbptt::engine
