#pragma once
// Counter-based random numbers: every value is a pure function of (seed, stream, index).
//
// Nothing is stateful, so a value can be produced on any rank, in any order, by any thread, and a
// stream of 10^9 steps costs no memory. Parameters are initialised with stream = tensor index and
// index = element, data sources with stream = a task-specific key and index = the position.
// The mixer is SplitMix64's finaliser applied to a combination of the three keys; its output
// passes BigCrush when used as a counter-based generator.

#include <cmath>
#include <cstdint>

namespace tbptt::rng {

constexpr uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// 64 random bits for (seed, stream, index).
constexpr uint64_t bits(uint64_t seed, uint64_t stream, uint64_t index) {
  return mix64(mix64(mix64(seed) ^ stream) ^ index);
}

// Uniform in [0, 1) with 53 random bits.
constexpr double uniform(uint64_t seed, uint64_t stream, uint64_t index) {
  return static_cast<double>(bits(seed, stream, index) >> 11) * 0x1.0p-53;
}

// Uniform integer in [0, n), n > 0 (Lemire's multiply-shift; bias below 2^-32 for n < 2^32).
__extension__ using uint128 = unsigned __int128;
inline uint64_t below(uint64_t n, uint64_t seed, uint64_t stream, uint64_t index) {
  return static_cast<uint64_t>((static_cast<uint128>(bits(seed, stream, index)) * n) >> 64);
}

// Standard normal (Box-Muller on the two uniforms at 2*index and 2*index+1).
inline double normal(uint64_t seed, uint64_t stream, uint64_t index) {
  const double u1 = 1.0 - uniform(seed, stream, 2 * index);  // (0, 1]: log is finite
  const double u2 = uniform(seed, stream, 2 * index + 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

}  // namespace tbptt::rng
