#pragma once
// One bf16 GEMM on oneDNN's matmul primitive: C [rows][cols] f32 (=, or += with `accumulate`)
// A [rows][inner] * B [inner][cols], where A and B are bf16 views of plain buffers given by their
// strides, so a transpose is a stride swap and nothing is copied (brgemm on AVX512-BF16 reads
// them as they are). B may instead be weights in a layout the primitive picks (no strides: `any`),
// which the caller packs once per pass (WeightCopies): brgemm then copies no block of B per call,
// and the seed LM's logits product took 3.2 instead of 4.7 ms at 2 threads. The primitive is
// built once per shape; only the data handles change.
//
// Its scratchpad is the caller's: run() takes a pointer to scratchpad_bytes() of it, so that a
// layer can place it beside buffers of its own inside one shared scratchpad.

#include <dnnl.hpp>

#include "engine/bound_primitive.h"

namespace tbptt::engine {

class Bf16Product {
 public:
  Bf16Product() = default;
  // b_strides empty: B in the layout weights_desc() reports.
  Bf16Product(const dnnl::engine& engine, int rows, int cols, int inner, dnnl::memory::dims a_strides,
              dnnl::memory::dims b_strides, bool accumulate = false);

  size_t scratchpad_bytes() const { return scratch_ ? scratch_.get_desc().get_size() : 0; }  // 0 if empty
  dnnl::memory::desc weights_desc() const { return b_.get_desc(); }
  void run(float* c, const void* a, const void* b, void* scratchpad, const dnnl::stream& s) const;

 private:
  dnnl::memory a_, b_, c_, scratch_;
  BoundPrimitive prim_;
};

}  // namespace tbptt::engine
