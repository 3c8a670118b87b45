#include "engine/layers.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <dnnl.hpp>
#include <string>

#include "common/check.h"
#include "common/error.h"
#include "engine/parallel.h"
#include "engine/simd.h"

namespace tbptt::engine {

void embedding_forward(float* out, const int32_t* tokens, const float* weight, int M, int V, int E) {
  for (int m = 0; m < M; ++m)  // validate before touching memory: a bad id is a data/model mismatch
    if (tokens[m] < 0 || tokens[m] >= V)
      throw ConfigError("data.vocab", "token id " + std::to_string(tokens[m]),
                        "token ids must lie in [0, " + std::to_string(V) + "), the model's vocabulary");
#pragma omp parallel for schedule(static)
  for (int m = 0; m < M; ++m) std::copy_n(weight + static_cast<size_t>(tokens[m]) * E, E, out + static_cast<size_t>(m) * E);
}

void embedding_backward(float* dweight, const float* dout, const int32_t* tokens, int M, int E) {
  // Two rows may share a token: splitting columns instead of rows keeps the sums race-free and
  // in a fixed order, so gradients are bitwise reproducible whatever the thread count.
#pragma omp parallel
  {
    const int nt = omp_get_num_threads(), id = omp_get_thread_num();
    const int e0 = static_cast<int>(static_cast<int64_t>(E) * id / nt), e1 = static_cast<int>(static_cast<int64_t>(E) * (id + 1) / nt);
    for (int m = 0; m < M; ++m) {
      float* dw = dweight + static_cast<size_t>(tokens[m]) * E;
      const float* d = dout + static_cast<size_t>(m) * E;
      for (int e = e0; e < e1; ++e) dw[e] += d[e];
    }
  }
}

namespace {

// Row-major sgemm (oneDNN's, threaded by OpenMP): C = alpha * op(A) * op(B) + beta * C.
void gemm(char ta, char tb, int M, int N, int K, const float* A, int lda, const float* B, int ldb, float beta,
          float* C, int ldc) {
  const auto status = dnnl::sgemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
  TBPTT_CHECK(status == dnnl::status::success, "dnnl::sgemm rejected its arguments");
}

}  // namespace

void linear_forward(float* out, const float* in, const float* weight, int M, int K, int N) {
  gemm('N', 'T', M, N, K, in, K, weight, K, 0.0f, out, N);
}

TBPTT_VECTOR_CLONES
void linear_backward(float* din, float* dweight, float* dbias, const float* dout, const float* in,
                     const float* weight, int M, int K, int N) {
  gemm('N', 'N', M, K, N, dout, N, weight, K, 0.0f, din, K);
  gemm('T', 'N', N, K, M, dout, N, in, K, 0.0f, dweight, K);
  // Column sums: each thread owns a range of columns and adds the rows in order, so the sum is
  // vectorised along a row and the same whatever the thread count.
#pragma omp parallel
  {
    const auto [n0, n1] = thread_slice(N);
    for (int64_t n = n0; n < n1; ++n) dbias[n] = 0.0f;
    for (int m = 0; m < M; ++m) {
      const float* d = dout + static_cast<size_t>(m) * N;
#pragma omp simd
      for (int64_t n = n0; n < n1; ++n) dbias[n] += d[n];
    }
  }
}

// One row of logits: bias add, max, softmax and (with grad) softmax - onehot in place. The
// exponentials are computed once: stored in the row, then scaled by 1 / sum.
TBPTT_VECTOR_CLONES
LossSums cross_entropy(float* logits, const float* bias, const int32_t* targets, const uint8_t* has_target,
                       int M, int N, bool grad) {
  for (int m = 0; m < M; ++m)  // checked outside the parallel region: exceptions cannot cross it
    if (has_target[m] && targets[m] >= N)
      throw ConfigError("data.vocab", "target id " + std::to_string(targets[m]),
                        "target ids must lie in [0, " + std::to_string(N) + "), the head's classes");
  ThreadPartials<3> partial{};  // loss, correct, targets
  check_thread_count();
#pragma omp parallel
  {
    std::array<double, 3> acc{};
    for (auto [m, end] = thread_slice(M); m < end; ++m) {
      float* z = logits + static_cast<size_t>(m) * N;
      const int y = targets[m];
      if (!has_target[m] || y < 0) {
        if (grad) std::fill_n(z, N, 0.0f);
        continue;
      }
      float zmax = -INFINITY;
#pragma omp simd reduction(max : zmax)
      for (int n = 0; n < N; ++n) {
        z[n] += bias[n];
        zmax = z[n] > zmax ? z[n] : zmax;
      }
      const float zy = z[y];
      // Right when the target holds the first maximum (argmax's rule for ties).
      int earlier_ties = 0;
      if (zy == zmax) {
#pragma omp simd reduction(+ : earlier_ties)
        for (int n = 0; n < y; ++n) earlier_ties += z[n] == zmax;
      }
      float sum = 0;
      if (grad) {
#pragma omp simd reduction(+ : sum)
        for (int n = 0; n < N; ++n) {
          const float e = exp_nonpositive(z[n] - zmax);
          z[n] = e;
          sum += e;
        }
        const float inv = 1.0f / sum;
#pragma omp simd
        for (int n = 0; n < N; ++n) z[n] *= inv;
        z[y] -= 1.0f;
      } else {
#pragma omp simd reduction(+ : sum)
        for (int n = 0; n < N; ++n) sum += exp_nonpositive(z[n] - zmax);
      }
      acc[0] += std::log(static_cast<double>(sum)) - (zy - zmax);
      acc[1] += zy == zmax && earlier_ties == 0;
      acc[2] += 1;
    }
    partial[static_cast<size_t>(omp_get_thread_num())] = acc;
  }
  const auto sums = sum_in_thread_order<3>(partial);
  return {sums[0], sums[1], static_cast<int64_t>(sums[2])};
}

LossSums mean_squared_error(float* outputs, const float* bias, const float* targets, const uint8_t* has_target,
                            int M, int O, bool grad) {
  const auto sums = ordered_sum<2>(M, [&](int64_t m, std::array<double, 2>& acc) {
    float* y = outputs + static_cast<size_t>(m) * O;
    const float* t = targets + static_cast<size_t>(m) * O;
    if (!has_target[m]) {
      if (grad) std::fill_n(y, O, 0.0f);
      return;
    }
    double se = 0;
    for (int o = 0; o < O; ++o) {
      const float d = y[o] + bias[o] - t[o];
      se += static_cast<double>(d) * d;
      if (grad) y[o] = 2.0f * d / static_cast<float>(O);
    }
    acc[0] += se / O;
    acc[1] += 1;
  });
  return {sums[0], 0.0, static_cast<int64_t>(sums[1])};
}

}  // namespace tbptt::engine
