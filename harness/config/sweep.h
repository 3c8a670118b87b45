#pragma once
// Expanding a sweep into runs.
//
// Run r's choice on each axis is a digit of r in a mixed radix; the seeds axis is the most
// significant digit, then the grid axes in file order, then all zip axes together (they share
// one digit, walked in lockstep) as the least significant:
//
//   seeds [1, 2] x grid {k1: [5, 20], batch: [16, 64]} x zip {hidden: [64, 128], layers: [1, 2]}
//   run:    0   1   2   3   4   5   6   7   8  ... 15
//   seed:   1   1   1   1   1   1   1   1   2  ...  2
//   k1:     5   5   5   5  20  20  20  20   5  ... 20
//   batch: 16  16  64  64  16  16  64  64  16  ... 64
//   zip:    0   1   0   1   0   1   0   1   0  ...  1   (hidden, layers) = (64, 1) or (128, 2)

#include <cstddef>
#include <vector>

#include "harness/config/spec.h"

namespace tbptt::harness {

constexpr size_t kMaxRuns = 100000;

// How many runs the sweep expands to (1 without a sweep). Throws ExperimentError when zip lists
// differ in length or when there would be more than kMaxRuns.
size_t count_runs(const ExperimentSpec& spec);

// For run `run` (0-based, in sweep order) the element chosen on each of spec.axes.
std::vector<size_t> choose(const ExperimentSpec& spec, size_t run);

}  // namespace tbptt::harness
