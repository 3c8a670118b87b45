#pragma once
// Vector code for the engine's own elementwise loops (loss, optimizer, norms, conversions).
//
// The engine is built for the baseline x86-64 ISA, so a plain loop compiles to SSE2. A function
// marked TBPTT_VECTOR_CLONES is compiled three times (AVX-512, AVX2+FMA, baseline) and the
// dynamic loader picks the best one for the CPU it runs on (GCC function multiversioning).
// Only code compiled inside the marked function is cloned: an OpenMP parallel region or a lambda
// outside it (e.g. in parallel.h) stays baseline. So hot loops live directly in the marked
// function, with their `omp parallel` and `omp simd` pragmas there, and the functions below are
// always inlined: a call the inliner declines (the GEMM LSTM's clones hold two data types' loops)
// leaves a scalar call per element, which made the f32 seed LM's forward 40% slower.

#include <bit>
#include <cmath>
#include <cstdint>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define TBPTT_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TBPTT_VECTOR_CLONES
#endif

namespace tbptt::engine {

// exp(x) for x <= 0 (softmax after subtracting the row maximum), vectorisable: no call, no table.
// exp(x) = 2^n * exp(r) with n = round(x / ln 2) and |r| <= ln(2) / 2; exp(r) by its Taylor
// polynomial to degree 7 (truncation error < 6e-9 relative). Max relative error 1e-7 (about one
// ulp; tests/engine/test_precision.cpp checks it against std::exp); exactly 0 below -87, where
// the true value is under 1.7e-38 and a softmax term of that size is 0 anyway.
[[gnu::always_inline]] inline float exp_nonpositive(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693145751953125f;    // ln 2 split in two, so n * kLn2Hi is exact
  constexpr float kLn2Lo = 1.42860682030941723212e-6f;
  constexpr float kRound = 12582912.0f;           // 1.5 * 2^23: adding it rounds to an integer
  const float xc = x < -87.0f ? -87.0f : x;
  const float t = xc * kLog2e + kRound;
  const float n = t - kRound;
  const float r = (xc - n * kLn2Hi) - n * kLn2Lo;
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // 2^n from the exponent bits: the low bits of t hold n (as an integer offset of kRound).
  const int32_t bits = (std::bit_cast<int32_t>(t) - std::bit_cast<int32_t>(kRound) + 127) << 23;
  const float e = p * std::bit_cast<float>(bits);
  return x < -87.0f ? 0.0f : e;
}

// The logistic function, from exp(-|x|) so that nothing overflows. Error against the exact value
// (tests/engine/test_precision.cpp): absolute < 1e-7, relative < 2.5e-7 on [-20, 20].
[[gnu::always_inline]] inline float sigmoid(float x) {
  const float e = exp_nonpositive(-std::fabs(x));
  const float r = 1.0f / (1.0f + e);
  return x >= 0 ? r : e * r;
}

// tanh: (1 - e) / (1 + e) with e = exp(-2|x|); below |x| = 1/16, where 1 - e would cancel, its
// Taylor polynomial (truncation error < 1e-12). Absolute error < 1e-7, relative < 4e-7.
[[gnu::always_inline]] inline float tanh_approx(float x) {
  const float ax = std::fabs(x), e = exp_nonpositive(-2.0f * ax);
  const float big = (1.0f - e) / (1.0f + e);
  const float x2 = ax * ax;
  const float small = ax * (1.0f + x2 * (-1.0f / 3 + x2 * (2.0f / 15 + x2 * (-17.0f / 315))));
  return std::copysign(ax < 0.0625f ? small : big, x);
}

}  // namespace tbptt::engine
