#pragma once
// bfloat16: the upper 16 bits of an IEEE float (8 exponent bits, 7 mantissa bits). Under
// `model.precision: bf16` the recurrent stack and the head compute on bf16 activations and
// weights, while parameters, gradients, optimizer moments, the LSTM cell state and every sum
// stay f32 (oneDNN's bf16 RNN training takes f32 diffs; its matmul accumulates in f32).

#include <bit>
#include <cstdint>

namespace tbptt::engine {

struct bfloat16 {
  uint16_t bits;
};

// Round to nearest even, as oneDNN's reorders and vcvtneps2bf16 do (NaN payloads aside).
inline bfloat16 to_bf16(float x) {
  const uint32_t u = std::bit_cast<uint32_t>(x);
  return {static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16)};
}

inline float to_f32(bfloat16 x) { return std::bit_cast<float>(static_cast<uint32_t>(x.bits) << 16); }
inline float to_f32(float x) { return x; }  // so code templated on the data type reads either

// Whether oneDNN can train in bf16 on this CPU (it needs AVX512-BF16; ONEDNN_MAX_CPU_ISA may
// lower what it uses).
bool cpu_supports_bf16();

}  // namespace tbptt::engine
