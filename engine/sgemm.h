#pragma once
// Row-major f32 GEMM on oneDNN's sgemm (threaded by OpenMP): C = op(A) * op(B) + beta * C, where
// op is the matrix ('N') or its transpose ('T'). It packs its operands on every call, which on
// the shapes of a whole window costs little next to the product (an LSTM's per-step products,
// where it would not, run on matmul primitives with weights packed once per pass instead).

#include <dnnl.hpp>

#include "common/check.h"

namespace tbptt::engine {

inline void sgemm(char ta, char tb, int M, int N, int K, const float* A, int lda, const float* B, int ldb, float beta,
                  float* C, int ldc) {
  const auto status = dnnl::sgemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
  TBPTT_CHECK(status == dnnl::status::success, "dnnl::sgemm rejected its arguments");
}

}  // namespace tbptt::engine
