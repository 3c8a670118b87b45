#pragma once
// Real-valued next-value prediction: input y[p], target y[p+1] (input dim 1, output dim 1).
//
// sine: y[p] = sin(2π (p + offset) / period). The three splits are consecutive pieces of one wave
//   (offset 0 for train, data.length for valid, data.length + data.valid_length for test).
//
// mackey_glass: dx/dt = 0.2 x(t-τ) / (1 + x(t-τ)^10) - 0.1 x(t), sampled once per time unit,
//   integrated by classic RK4 with step 0.1 (the delayed term read from the stored history,
//   midpoints by linear interpolation). A chaotic ODE has no random access, so the stream is a
//   chain of independent segments of 2000 samples: segment g starts from the constant history
//   x = 0.5 + u (u uniform in [0, 1), keyed by seed, split and g) and drops 500 samples of
//   washout; step p of the stream is sample p % 2000 of segment p / 2000, its target sample
//   p % 2000 + 1 of the same segment. Any position costs at most one segment of integration,
//   and each batch row keeps its integrator between windows, so sequential reading costs
//   (k1 + k2) samples per window and row.

#include <memory>

#include "data/source.h"

namespace tbptt::data {

std::unique_ptr<Source> make_sine(const SourceSpec& spec);
std::unique_ptr<Source> make_mackey_glass(const SourceSpec& spec);

// Exposed for tests: the stream layout of mackey_glass.
inline constexpr int64_t mackey_glass_segment = 2000;
inline constexpr int64_t mackey_glass_washout = 500;

}  // namespace tbptt::data
