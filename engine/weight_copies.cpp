#include "engine/weight_copies.h"

#include <omp.h>

#include <algorithm>
#include <tuple>
#include <type_traits>

#include "engine/bf16.h"
#include "engine/parallel.h"
#include "engine/simd.h"

namespace tbptt::engine {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

constexpr int64_t kBlockN = 64;

int64_t block_k(WeightCopies::Packing::Kind kind) { return kind == WeightCopies::Packing::f32_blocked ? 16 : 32; }

// Where element (k, n) of a block goes, inside the block.
[[gnu::always_inline]] inline int64_t in_block(WeightCopies::Packing::Kind kind, int64_t k, int64_t n) {
  return kind == WeightCopies::Packing::f32_blocked ? k * kBlockN + n : (k / 2) * 2 * kBlockN + n * 2 + k % 2;
}

// Two values side by side in bf16, the first in the low half: a K pair of BA16a64b2a.
[[gnu::always_inline]] inline uint32_t bf16_pair(float lo, float hi) {
  return static_cast<uint32_t>(to_bf16(lo).bits) | static_cast<uint32_t>(to_bf16(hi).bits) << 16;
}

// A whole block [k0, k0 + bk) x [n0, n0 + 64): the inner loop runs along whichever of k and n is
// contiguous in the source, so the plain view and the transposed one both stream.
[[gnu::always_inline]] inline void pack_full_block(void* block, const float* src, const WeightCopies::Packing& p,
                                                   int64_t k0, int64_t n0) {
  const float* at = src + k0 * p.sk + n0 * p.sn;
  if (p.kind == WeightCopies::Packing::f32_blocked) {
    auto* out = static_cast<float*>(block);  // [16][64]
    if (p.sk == 1) {
      for (int64_t n = 0; n < kBlockN; ++n)
#pragma omp simd
        for (int64_t k = 0; k < 16; ++k) out[k * kBlockN + n] = at[k + n * p.sn];
    } else {
      for (int64_t k = 0; k < 16; ++k)
#pragma omp simd
        for (int64_t n = 0; n < kBlockN; ++n) out[k * kBlockN + n] = at[k * p.sk + n * p.sn];
    }
    return;
  }
  auto* out = static_cast<uint32_t*>(block);  // [16][64] pairs
  if (p.sk == 1) {
    for (int64_t n = 0; n < kBlockN; ++n)
#pragma omp simd
      for (int64_t k = 0; k < 16; ++k) out[k * kBlockN + n] = bf16_pair(at[2 * k + n * p.sn], at[2 * k + 1 + n * p.sn]);
  } else {
    for (int64_t k = 0; k < 16; ++k)
#pragma omp simd
      for (int64_t n = 0; n < kBlockN; ++n)
        out[k * kBlockN + n] = bf16_pair(at[2 * k * p.sk + n * p.sn], at[(2 * k + 1) * p.sk + n * p.sn]);
  }
}

// A block that K or N ends inside: element by element, zeros past the end.
template <class Out>
void pack_edge_block(Out* block, const float* src, const WeightCopies::Packing& p, int64_t k0, int64_t n0, int64_t bk) {
  const int64_t kn = std::min(bk, p.K - k0), nn = std::min(kBlockN, p.N - n0);
  std::fill_n(block, bk * kBlockN, Out{});
  for (int64_t k = 0; k < kn; ++k)
    for (int64_t n = 0; n < nn; ++n) {
      const float x = src[(k0 + k) * p.sk + (n0 + n) * p.sn];
      if constexpr (std::is_same_v<Out, float>) {
        block[in_block(p.kind, k, n)] = x;
      } else {
        block[in_block(p.kind, k, n)] = to_bf16(x);
      }
    }
}

// N-blocks outermost: block b = nb * (K-blocks) + kb starts at b * (its size).
TBPTT_VECTOR_CLONES
void pack_blocked(void* dst, const float* src, WeightCopies::Packing p) {
  const int64_t bk = block_k(p.kind), kblocks = (p.K + bk - 1) / bk, nblocks = (p.N + kBlockN - 1) / kBlockN;
  const int64_t blocks = kblocks * nblocks, block_size = bk * kBlockN;
  const bool f32 = p.kind == WeightCopies::Packing::f32_blocked;
#pragma omp parallel for schedule(static) if (p.K * p.N >= kParallelMin)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t k0 = b % kblocks * bk, n0 = b / kblocks * kBlockN;
    float* out32 = static_cast<float*>(dst) + b * block_size;
    bfloat16* out16 = static_cast<bfloat16*>(dst) + b * block_size;
    if (k0 + bk <= p.K && n0 + kBlockN <= p.N)
      pack_full_block(f32 ? static_cast<void*>(out32) : static_cast<void*>(out16), src, p, k0, n0);
    else if (f32)
      pack_edge_block(out32, src, p, k0, n0, bk);
    else
      pack_edge_block(out16, src, p, k0, n0, bk);
  }
}

TBPTT_VECTOR_CLONES
void pack_plain_bf16(bfloat16* dst, const float* src, WeightCopies::Packing p) {
#pragma omp parallel for schedule(static) if (p.K * p.N >= kParallelMin)
  for (int64_t k = 0; k < p.K; ++k)
    for (int64_t n = 0; n < p.N; ++n) dst[k * p.N + n] = to_bf16(src[k * p.sk + n * p.sn]);
}

}  // namespace

WeightCopies::Packing WeightCopies::packing(const memory::desc& user, const memory::desc& layout) {
  const dnnl_memory_desc_t& u = user.data;
  if (u.ndims != 2 || u.data_type != dnnl_f32 || u.format_kind != dnnl_blocked || u.format_desc.blocking.inner_nblks != 0 ||
      u.offset0 != 0)
    return {};
  const memory::dims dims = user.dims();
  const Packing p{Packing::none, dims[0], dims[1], u.format_desc.blocking.strides[0], u.format_desc.blocking.strides[1]};
  for (const auto& [kind, type, format] : {std::tuple{Packing::f32_blocked, dt::f32, tag::BA16a64b},
                                           std::tuple{Packing::bf16_blocked, dt::bf16, tag::BA16a64b2a},
                                           std::tuple{Packing::bf16_plain, dt::bf16, tag::ab}})
    if (layout == memory::desc(dims, type, format)) return {kind, p.K, p.N, p.sk, p.sn};
  return {};
}

void WeightCopies::pack(void* dst, const float* src, const Packing& p) {
  if (p.kind == Packing::bf16_plain) return pack_plain_bf16(static_cast<bfloat16*>(dst), src, p);
  pack_blocked(dst, src, p);
}

WeightCopies::Copy& WeightCopies::of(const memory& user, const memory::desc& layout) {
  for (const auto& c : copies_)
    if (c->user == &user && c->mem.get_desc() == layout) return *c;
  auto c = std::make_unique<Copy>();
  c->user = &user;
  c->mem = memory(layout, engine_);
  c->packing = packing(user.get_desc(), layout);
  if (c->packing.kind == Packing::none)
    c->reorder = BoundPrimitive(dnnl::reorder(user, c->mem), {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, c->mem}});
  copies_.push_back(std::move(c));
  return *copies_.back();
}

void WeightCopies::refresh(Copy* copy, dnnl::stream& s) {
  if (!copy || !copy->stale) return;
  if (copy->packing.kind == Packing::none)
    copy->reorder.execute(s);
  else
    pack(copy->mem.get_data_handle(), static_cast<const float*>(copy->user->get_data_handle()), copy->packing);
  copy->stale = false;
}

size_t WeightCopies::bytes() const {
  size_t n = 0;
  for (const auto& c : copies_) n += c->mem.get_desc().get_size();
  return n;
}

}  // namespace tbptt::engine
