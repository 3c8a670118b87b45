#include "engine/layers.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>

#include "common/error.h"
#include "engine/parallel.h"
#include "engine/simd.h"

namespace tbptt::engine {

void check_tokens(const int32_t* tokens, int M, int V) {
  for (int m = 0; m < M; ++m)
    if (tokens[m] < 0 || tokens[m] >= V)
      throw ConfigError("data.vocab", "token id " + std::to_string(tokens[m]),
                        "token ids must lie in [0, " + std::to_string(V) + "), the model's vocabulary");
}

template <class Out>
void embedding_forward(Out* out, const int32_t* tokens, const float* weight, int M, int V, int E) {
  check_tokens(tokens, M, V);
#pragma omp parallel for schedule(static) if (static_cast<int64_t>(M) * E >= kParallelMin)
  for (int m = 0; m < M; ++m) {
    const float* w = weight + static_cast<size_t>(tokens[m]) * E;
    Out* o = out + static_cast<size_t>(m) * E;
    if constexpr (std::is_same_v<Out, float>) {
      std::copy_n(w, E, o);
    } else {
      for (int e = 0; e < E; ++e) o[e] = to_bf16(w[e]);
    }
  }
}
template void embedding_forward(float*, const int32_t*, const float*, int, int, int);
template void embedding_forward(bfloat16*, const int32_t*, const float*, int, int, int);

template <class In>
void embedding_backward(float* dweight, const In* dout, const int32_t* tokens, int M, int E) {
  // Two rows may share a token: splitting columns instead of rows keeps the sums race-free and
  // in a fixed order, so gradients are bitwise reproducible whatever the thread count.
#pragma omp parallel if (static_cast<int64_t>(M) * E >= kParallelMin)
  {
    const auto [e0, e1] = thread_slice(E);
    for (int m = 0; m < M; ++m) {
      float* dw = dweight + static_cast<size_t>(tokens[m]) * E;
      const In* d = dout + static_cast<size_t>(m) * E;
      for (int64_t e = e0; e < e1; ++e) dw[e] += to_f32(d[e]);
    }
  }
}
template void embedding_backward(float*, const float*, const int32_t*, int, int);
template void embedding_backward(float*, const bfloat16*, const int32_t*, int, int);

TBPTT_VECTOR_CLONES
void to_bf16(bfloat16* out, const float* in, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) out[i] = to_bf16(in[i]);
}

namespace {

// The loss gradient of row m is in d[0, N): add it to this thread's bias sums and, for a bf16
// head, round it into dout_bf16. Inlined into the (cloned) loss functions so it vectorises there.
[[gnu::always_inline]] inline void emit_row(const LossGrad& g, float* thread_dbias, const float* d, int64_t m, int N) {
  bfloat16* o = g.dout_bf16 ? g.dout_bf16 + static_cast<size_t>(m) * N : nullptr;
#pragma omp simd
  for (int n = 0; n < N; ++n) thread_dbias[n] += d[n];
  if (o) {
#pragma omp simd
    for (int n = 0; n < N; ++n) o[n] = to_bf16(d[n]);
  }
}

// Cross-entropy's row gradient, softmax - onehot, from the row's exponentials z and 1 / their
// sum, in one pass: scaled, added to the bias sums, written in place (f32) or to dout_bf16.
[[gnu::always_inline]] inline void emit_softmax_grad(const LossGrad& g, float* thread_dbias, float* z, float inv, int y,
                                                     int64_t m, int N) {
  if (g.dout_bf16) {
    bfloat16* o = g.dout_bf16 + static_cast<size_t>(m) * N;
#pragma omp simd
    for (int n = 0; n < N; ++n) {
      const float d = z[n] * inv - (n == y ? 1.0f : 0.0f);
      thread_dbias[n] += d;
      o[n] = to_bf16(d);
    }
  } else {
#pragma omp simd
    for (int n = 0; n < N; ++n) {
      const float d = z[n] * inv - (n == y ? 1.0f : 0.0f);
      thread_dbias[n] += d;
      z[n] = d;
    }
  }
}

// A row without a target has a zero gradient.
[[gnu::always_inline]] inline void emit_zero_row(const LossGrad& g, float* d, int64_t m, int N) {
  if (g.dout_bf16) {
    std::fill_n(g.dout_bf16 + static_cast<size_t>(m) * N, N, bfloat16{0});
  } else {
    std::fill_n(d, N, 0.0f);
  }
}

// dbias[n] = sum over threads t (in order) of partials[t][n].
TBPTT_VECTOR_CLONES
void sum_thread_partials(float* dbias, const float* partials, int threads, int N) {
#pragma omp parallel for simd schedule(static) if (static_cast<int64_t>(threads) * N >= kParallelMin)
  for (int n = 0; n < N; ++n) {
    float s = 0;
    for (int t = 0; t < threads; ++t) s += partials[static_cast<size_t>(t) * N + n];
    dbias[n] = s;
  }
}

}  // namespace

// Per row: bias add and maximum, softmax (exponentials computed once, stored, scaled by 1 / sum)
// and, with a gradient, softmax - onehot emitted to the bias sums (and bf16 output).
TBPTT_VECTOR_CLONES
LossSums cross_entropy(float* logits, const float* bias, const int32_t* targets, const uint8_t* has_target, int M,
                       int N, const LossGrad* grad) {
  for (int m = 0; m < M; ++m)  // checked outside the parallel region: exceptions cannot cross it
    if (has_target[m] && targets[m] >= N)
      throw ConfigError("data.vocab", "target id " + std::to_string(targets[m]),
                        "target ids must lie in [0, " + std::to_string(N) + "), the head's classes");
  ThreadPartials<3> partial{};  // loss, correct, targets
  int threads = 1;
  check_thread_count();
#pragma omp parallel if (static_cast<int64_t>(M) * N >= kParallelMin)
  {
    const int id = omp_get_thread_num();
    if (id == 0) threads = omp_get_num_threads();
    float* thread_dbias = grad ? grad->partials + static_cast<size_t>(id) * N : nullptr;
    if (grad) std::fill_n(thread_dbias, N, 0.0f);
    std::array<double, 3> acc{};
    for (auto [m, end] = thread_slice(M); m < end; ++m) {
      float* z = logits + static_cast<size_t>(m) * N;
      const int y = targets[m];
      if (!has_target[m] || y < 0) {
        if (grad) emit_zero_row(*grad, z, m, N);
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
        emit_softmax_grad(*grad, thread_dbias, z, 1.0f / sum, y, m, N);
      } else {
#pragma omp simd reduction(+ : sum)
        for (int n = 0; n < N; ++n) sum += exp_nonpositive(z[n] - zmax);
      }
      acc[0] += std::log(static_cast<double>(sum)) - (zy - zmax);
      acc[1] += zy == zmax && earlier_ties == 0;
      acc[2] += 1;
    }
    partial[static_cast<size_t>(id)] = acc;
  }
  if (grad) sum_thread_partials(grad->dbias, grad->partials, threads, N);
  const auto sums = sum_in_thread_order<3>(partial);
  return {sums[0], sums[1], static_cast<int64_t>(sums[2])};
}

LossSums mean_squared_error(float* outputs, const float* bias, const float* targets, const uint8_t* has_target,
                            int M, int O, const LossGrad* grad) {
  ThreadPartials<2> partial{};  // loss, targets
  int threads = 1;
  check_thread_count();
#pragma omp parallel if (static_cast<int64_t>(M) * O >= kParallelMin)
  {
    const int id = omp_get_thread_num();
    if (id == 0) threads = omp_get_num_threads();
    float* thread_dbias = grad ? grad->partials + static_cast<size_t>(id) * O : nullptr;
    if (grad) std::fill_n(thread_dbias, O, 0.0f);
    std::array<double, 2> acc{};
    for (auto [m, end] = thread_slice(M); m < end; ++m) {
      float* y = outputs + static_cast<size_t>(m) * O;
      const float* t = targets + static_cast<size_t>(m) * O;
      if (!has_target[m]) {
        if (grad) emit_zero_row(*grad, y, m, O);
        continue;
      }
      double se = 0;
      for (int o = 0; o < O; ++o) {
        const float d = y[o] + bias[o] - t[o];
        se += static_cast<double>(d) * d;
        if (grad) y[o] = 2.0f * d / static_cast<float>(O);
      }
      if (grad) emit_row(*grad, thread_dbias, y, m, O);
      acc[0] += se / O;
      acc[1] += 1;
    }
    partial[static_cast<size_t>(id)] = acc;
  }
  if (grad) sum_thread_partials(grad->dbias, grad->partials, threads, O);
  const auto sums = sum_in_thread_order<2>(partial);
  return {sums[0], 0.0, static_cast<int64_t>(sums[1])};
}

}  // namespace tbptt::engine
