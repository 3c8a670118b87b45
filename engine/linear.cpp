#include "engine/linear.h"

#include <algorithm>

#include "common/check.h"
#include "engine/bound_primitive.h"
#include "engine/sgemm.h"

namespace tbptt::engine {

using dnnl::memory;
using dt = memory::data_type;

namespace {

const float* f32(const void* p) { return static_cast<const float*>(p); }

// C [rows][cols] f32 = A [rows][inner] * B [inner][cols], A and B bf16 views given by strides.
struct Product {
  memory a, b, c, scratch;
  BoundPrimitive prim;

  Product(const dnnl::engine& e, int rows, int cols, int inner, memory::dims a_strides, memory::dims b_strides) {
    const memory::desc a_md({rows, inner}, dt::bf16, a_strides), b_md({inner, cols}, dt::bf16, b_strides);
    const memory::desc c_md({rows, cols}, dt::f32, memory::dims{cols, 1});
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), attr, e);
    a = memory(a_md, e, DNNL_MEMORY_NONE), b = memory(b_md, e, DNNL_MEMORY_NONE), c = memory(c_md, e, DNNL_MEMORY_NONE);
    scratch = memory(pd.scratchpad_desc(), e, DNNL_MEMORY_NONE);
    prim = BoundPrimitive(dnnl::matmul(pd),
                          {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}, {DNNL_ARG_SCRATCHPAD, scratch}});
  }
  void run(float* out, const void* A, const void* B, dnnl::stream& s, Scratchpad& pad) {
    set_handle(a, A); set_handle(b, B); set_handle(c, out);
    set_handle(scratch, pad.get(scratch.get_desc().get_size()));
    prim.execute(s);
  }
};

}  // namespace

struct Linear::Shape {
  Product forward, din, dweight;
};

Linear::Linear(const dnnl::engine& engine, Precision precision, int K, int N)
    : engine_(engine), precision_(precision), K_(K), N_(N) {}
Linear::~Linear() = default;
Linear::Linear(Linear&&) noexcept = default;

Linear::Shape& Linear::shape(int M) {
  auto& slot = shapes_[M];
  if (!slot) {
    const memory::dim K = K_, N = N_;
    slot.reset(new Shape{Product(engine_, M, N_, K_, {K, 1}, {1, K}),    // in * W^T  (W^T: W read by columns)
                         Product(engine_, M, K_, N_, {N, 1}, {K, 1}),    // dout * W
                         Product(engine_, N_, K_, M, {1, N}, {K, 1})});  // dout^T * in
  }
  return *slot;
}

size_t Linear::scratchpad_bytes(int M) {
  if (precision_ == Precision::f32) return 0;  // sgemm manages its own packing buffers
  Shape& s = shape(M);
  return std::max({s.forward.scratch.get_desc().get_size(), s.din.scratch.get_desc().get_size(),
                   s.dweight.scratch.get_desc().get_size()});
}

void Linear::forward(float* out, const void* in, const void* weight, int M, dnnl::stream& s, Scratchpad& scratch) {
  if (precision_ == Precision::f32) return sgemm('N', 'T', M, N_, K_, f32(in), K_, f32(weight), K_, 0.0f, out, N_);
  shape(M).forward.run(out, in, weight, s, scratch);
}

void Linear::backward(float* din, float* dweight, const void* dout, const void* in, const void* weight, int M,
                      dnnl::stream& s, Scratchpad& scratch) {
  if (precision_ == Precision::f32) {
    sgemm_blocks('N', 'N', M, K_, N_, f32(dout), N_, f32(weight), K_, 0.0f, din, K_);
    sgemm_blocks('T', 'N', N_, K_, M, f32(dout), N_, f32(in), K_, 0.0f, dweight, K_);
    return;
  }
  Shape& sh = shape(M);
  sh.din.run(din, dout, weight, s, scratch);
  sh.dweight.run(dweight, dout, in, s, scratch);
}

}  // namespace tbptt::engine
