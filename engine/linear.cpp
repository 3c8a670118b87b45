#include "engine/linear.h"

#include <algorithm>

#include "common/check.h"
#include "engine/bf16_product.h"
#include "engine/sgemm.h"

namespace tbptt::engine {

using dnnl::memory;

namespace {

const float* f32(const void* p) { return static_cast<const float*>(p); }

}  // namespace

struct Linear::Shape {
  Bf16Product forward, din, dweight;
  WeightCopies::Copy *w_forward = nullptr, *w_din = nullptr;  // W^T and W in the layouts they chose
};

Linear::Linear(const dnnl::engine& engine, Precision precision, int K, int N)
    : engine_(engine), precision_(precision), K_(K), N_(N), copies_(engine) {
  const memory::dim Kd = K, Nd = N;
  user_ = memory(memory::desc({Nd, Kd}, memory::data_type::f32, memory::dims{Kd, 1}), engine_, DNNL_MEMORY_NONE);
  user_t_ = memory(memory::desc({Kd, Nd}, memory::data_type::f32, memory::dims{1, Kd}), engine_, DNNL_MEMORY_NONE);
}
Linear::~Linear() = default;
Linear::Linear(Linear&&) noexcept = default;

Linear::Shape& Linear::shape(int M) {
  auto& slot = shapes_[M];
  if (!slot) {
    const memory::dim K = K_, N = N_;
    slot.reset(new Shape{Bf16Product(engine_, M, N_, K_, {K, 1}, {}),        // in * W^T
                         Bf16Product(engine_, M, K_, N_, {N, 1}, {}),        // dout * W
                         Bf16Product(engine_, N_, K_, M, {1, N}, {K, 1})});  // dout^T * in (dout read by columns)
    slot->w_forward = &copies_.of(user_t_, slot->forward.weights_desc());
    slot->w_din = &copies_.of(user_, slot->din.weights_desc());
  }
  return *slot;
}

void Linear::set_weights(const float* weight) {
  weight_ = weight;
  set_handle(user_, weight), set_handle(user_t_, weight);
  copies_.set_stale();
}

size_t Linear::weight_copy_bytes(int M) {
  if (precision_ == Precision::f32) return 0;  // sgemm reads W as stored
  shape(M);
  return copies_.bytes();
}

size_t Linear::scratchpad_bytes(int M) {
  if (precision_ == Precision::f32) return 0;  // sgemm manages its own packing buffers
  Shape& s = shape(M);
  return std::max({s.forward.scratchpad_bytes(), s.din.scratchpad_bytes(), s.dweight.scratchpad_bytes()});
}

void Linear::forward(float* out, const void* in, int M, dnnl::stream& s, Scratchpad& scratch) {
  TBPTT_CHECK(weight_, "set_weights must come before the first pass");
  if (precision_ == Precision::f32) return sgemm('N', 'T', M, N_, K_, f32(in), K_, weight_, K_, 0.0f, out, N_);
  const Shape& sh = shape(M);
  WeightCopies::refresh(sh.w_forward, s);
  sh.forward.run(out, in, sh.w_forward->mem.get_data_handle(), scratch.get(sh.forward.scratchpad_bytes()), s);
}

void Linear::backward(float* din, float* dweight, const void* dout, const void* in, int M, dnnl::stream& s,
                      Scratchpad& scratch) {
  if (precision_ == Precision::f32) {
    sgemm_blocks('N', 'N', M, K_, N_, f32(dout), N_, weight_, K_, 0.0f, din, K_);
    sgemm_blocks('T', 'N', N_, K_, M, f32(dout), N_, f32(in), K_, 0.0f, dweight, K_);
    return;
  }
  const Shape& sh = shape(M);
  WeightCopies::refresh(sh.w_din, s);
  sh.din.run(din, dout, sh.w_din->mem.get_data_handle(), scratch.get(sh.din.scratchpad_bytes()), s);
  sh.dweight.run(dweight, dout, in, scratch.get(sh.dweight.scratchpad_bytes()), s);
}

}  // namespace tbptt::engine
