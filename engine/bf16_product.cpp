#include "engine/bf16_product.h"

namespace tbptt::engine {

using dnnl::memory;
using dt = memory::data_type;

Bf16Product::Bf16Product(const dnnl::engine& engine, int rows, int cols, int inner, memory::dims a_strides,
                         memory::dims b_strides, bool accumulate) {
  const memory::desc a_md({rows, inner}, dt::bf16, a_strides);
  const memory::desc b_md = b_strides.empty() ? memory::desc({inner, cols}, dt::bf16, memory::format_tag::any)
                                              : memory::desc({inner, cols}, dt::bf16, b_strides);
  const memory::desc c_md({rows, cols}, dt::f32, memory::dims{cols, 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (accumulate) {  // C += A B: a sum post-op adds the product onto what C holds
    dnnl::post_ops sum;
    sum.append_sum(1.0f);
    attr.set_post_ops(sum);
  }
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), attr, engine);
  a_ = memory(a_md, engine, DNNL_MEMORY_NONE), b_ = memory(pd.weights_desc(), engine, DNNL_MEMORY_NONE);
  c_ = memory(c_md, engine, DNNL_MEMORY_NONE), scratch_ = memory(pd.scratchpad_desc(), engine, DNNL_MEMORY_NONE);
  prim_ = BoundPrimitive(dnnl::matmul(pd),
                         {{DNNL_ARG_SRC, a_}, {DNNL_ARG_WEIGHTS, b_}, {DNNL_ARG_DST, c_}, {DNNL_ARG_SCRATCHPAD, scratch_}});
}

void Bf16Product::run(float* c, const void* a, const void* b, void* scratchpad, const dnnl::stream& s) const {
  set_handle(a_, a), set_handle(b_, b), set_handle(c_, c), set_handle(scratch_, scratchpad);
  prim_.execute(s);
}

}  // namespace tbptt::engine
