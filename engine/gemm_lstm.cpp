#include "engine/gemm_lstm.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "common/check.h"
#include "engine/bound_primitive.h"
#include "engine/parallel.h"
#include "engine/sgemm.h"
#include "engine/simd.h"

namespace tbptt::engine {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

size_t aligned(size_t bytes) { return (bytes + 63) / 64 * 64; }

// The elementwise work of one step, split across threads by batch row, each thread streaming
// whole rows. (Split by hidden unit instead, which the bias gradient would have liked, the
// backward loop took 3x as long at 2 threads on the char-LM's shapes; we did not pin down why.)
// Both repeat the loop nest rather than share it through a lambda, which would not be compiled
// for the vector ISA of the clone that calls it (simd.h).

// A = act(Z + bias) in place ([B][4H]); c = f c_prev + i c~; h = o tanh(c) ([B][H] each).
TBPTT_VECTOR_CLONES
void step_forward(float* h, float* c, float* A, const float* c_prev, const float* bias, int B, int H) {
#pragma omp parallel if (static_cast<int64_t>(B) * H >= GemmLstm::kParallelUnits)
  for (auto [b, end] = thread_slice(B); b < end; ++b) {
    float* a = A + static_cast<size_t>(b) * 4 * H;
    const size_t row = static_cast<size_t>(b) * H;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const float i = sigmoid(a[j] + bias[j]), f = sigmoid(a[H + j] + bias[H + j]);
      const float g = tanh_approx(a[2 * H + j] + bias[2 * H + j]), o = sigmoid(a[3 * H + j] + bias[3 * H + j]);
      a[j] = i, a[H + j] = f, a[2 * H + j] = g, a[3 * H + j] = o;
      const float ct = f * c_prev[row + j] + i * g;
      c[row + j] = ct;
      h[row + j] = o * tanh_approx(ct);
    }
  }
}

// A (activations) -> dZ in place; dc_out = dc f (may be dc_in); each thread adds its rows of dZ
// into its own row of dbias_partials [threads][4H] (summed in thread order after the chunk).
// dh = ddst + dh_next: the gradient reaching h_t from above and from step t + 1.
TBPTT_VECTOR_CLONES
void step_backward(float* A, float* dc_out, float* dbias_partials, const float* dc_in, const float* ddst,
                   const float* dh_next, const float* c, const float* c_prev, int B, int H) {
#pragma omp parallel if (static_cast<int64_t>(B) * H >= GemmLstm::kParallelUnits)
  {
    float* db = dbias_partials + static_cast<size_t>(omp_get_thread_num()) * 4 * H;
    for (auto [b, end] = thread_slice(B); b < end; ++b) {
      float* a = A + static_cast<size_t>(b) * 4 * H;
      const size_t row = static_cast<size_t>(b) * H;
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) {
        const float i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j];
        const float tc = tanh_approx(c[row + j]);
        const float dh = ddst[row + j] + dh_next[row + j];
        const float dc = dc_in[row + j] + dh * o * (1.0f - tc * tc);
        const float di = dc * g * i * (1.0f - i), df = dc * c_prev[row + j] * f * (1.0f - f);
        const float dg = dc * i * (1.0f - g * g), d_o = dh * tc * o * (1.0f - o);
        a[j] = di, a[H + j] = df, a[2 * H + j] = dg, a[3 * H + j] = d_o;
        db[j] += di, db[H + j] += df, db[2 * H + j] += dg, db[3 * H + j] += d_o;
        dc_out[row + j] = dc * f;
      }
    }
  }
}

}  // namespace

// The two per-step products of one B, on matmul primitives that read W_hh packed in the layout
// they chose (`any`), copied once per pass:
//   forward   Z[t] [B][4H] += h [B][H] W_hh [H][4H]       (a sum post-op accumulates onto X W_ih)
//   backward  dh   [B][H]   = dZ[t] [B][4H] W_hh^T [4H][H]
struct GemmLstm::Step {
  memory h, z, pad;  // handles set before each execute; both primitives share them
  BoundPrimitive forward, backward;
  WeightCopies::Copy *w_forward, *w_backward;
  size_t pad_bytes;
};

GemmLstm::GemmLstm(const dnnl::engine& engine, int I, int H) : engine_(engine), I_(I), H_(H), copies_(engine) {
  const memory::dim Hd = H, G = 4 * Hd;
  user_hh_ = memory(memory::desc({Hd, G}, dt::f32, tag::ab), engine_, DNNL_MEMORY_NONE);
  user_hh_t_ = memory(memory::desc({G, Hd}, dt::f32, memory::dims{1, G}), engine_, DNNL_MEMORY_NONE);
}

GemmLstm::~GemmLstm() = default;
GemmLstm::GemmLstm(GemmLstm&&) noexcept = default;

GemmLstm::Step& GemmLstm::step(int B) {
  auto& slot = steps_[B];
  if (slot) return *slot;
  const memory::dim Hd = H_, G = 4 * Hd;
  const memory::desc h_md({B, Hd}, dt::f32, tag::ab), z_md({B, G}, dt::f32, tag::ab);
  // 1. Describe both products with `any` weights: the primitive picks its packed layout.
  // (dnnl::primitive_attr copies share one C object: each primitive gets its own.)
  dnnl::primitive_attr attr, accumulate;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // the model's shared scratchpad
  accumulate.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::post_ops sum;
  sum.append_sum(1.0f);
  accumulate.set_post_ops(sum);
  const dnnl::matmul::primitive_desc fpd(
      dnnl::matmul::desc(h_md, memory::desc({Hd, G}, dt::f32, tag::any), z_md), accumulate, engine_);
  const dnnl::matmul::primitive_desc bpd(dnnl::matmul::desc(z_md, memory::desc({G, Hd}, dt::f32, tag::any), h_md),
                                         attr, engine_);
  // 2. The weights in those layouts, reordered from the parameters once per pass.
  slot = std::make_unique<Step>();
  Step& s = *slot;
  s.w_forward = &copies_.of(user_hh_, fpd.weights_desc());
  s.w_backward = &copies_.of(user_hh_t_, bpd.weights_desc());
  // 3. Bind the arguments once; only the data handles change per step.
  s.h = memory(h_md, engine_, DNNL_MEMORY_NONE);
  s.z = memory(z_md, engine_, DNNL_MEMORY_NONE);
  s.pad_bytes = std::max(fpd.scratchpad_desc().get_size(), bpd.scratchpad_desc().get_size());
  s.pad = memory(memory::desc({static_cast<memory::dim>(s.pad_bytes)}, dt::u8, tag::a), engine_, DNNL_MEMORY_NONE);
  s.forward = BoundPrimitive(dnnl::matmul(fpd), {{DNNL_ARG_SRC, s.h},
                                                 {DNNL_ARG_WEIGHTS, s.w_forward->mem},
                                                 {DNNL_ARG_DST, s.z},
                                                 {DNNL_ARG_SCRATCHPAD, s.pad}});
  s.backward = BoundPrimitive(dnnl::matmul(bpd), {{DNNL_ARG_SRC, s.z},
                                                  {DNNL_ARG_WEIGHTS, s.w_backward->mem},
                                                  {DNNL_ARG_DST, s.h},
                                                  {DNNL_ARG_SCRATCHPAD, s.pad}});
  return s;
}

size_t GemmLstm::workspace_bytes(int T, int B) const {
  return aligned(static_cast<size_t>(T) * B * 5 * H_ * sizeof(float));  // A [T][B][4H] | c [T][B][H]
}

// The matmuls' scratchpad, then: inference, Z and c (no workspace to keep them in); backward,
// the running dh and dc, [B][H] each, and the bias gradient's per-thread sums, [threads][4H].
size_t GemmLstm::scratchpad_bytes(int T, int B, bool training) {
  const size_t backward = (2 * static_cast<size_t>(B) + 4 * static_cast<size_t>(omp_get_max_threads())) * H_;
  const size_t own = training ? backward * sizeof(float) : workspace_bytes(T, B);
  return aligned(step(B).pad_bytes) + own;
}

size_t GemmLstm::weight_copy_bytes(int B) {
  step(B);
  return copies_.bytes();
}

void GemmLstm::set_weights(const float* w_ih, const float* w_hh) {
  w_ih_ = w_ih, w_hh_ = w_hh;
  set_handle(user_hh_, w_hh), set_handle(user_hh_t_, w_hh);
  copies_.set_stale();
}

void GemmLstm::forward(float* dst, float* h_T, float* c_T, const float* src, const float* h0, const float* c0,
                       const float* bias, void* workspace, int T, int B, dnnl::stream& strm, Scratchpad& scratch) {
  TBPTT_CHECK(w_ih_ && w_hh_, "set_weights must come before the first pass");
  Step& st = step(B);
  WeightCopies::refresh(st.w_forward, strm);
  const int G = 4 * H_;
  const size_t BH = static_cast<size_t>(B) * H_, BG = static_cast<size_t>(B) * G;
  char* pad = static_cast<char*>(scratch.get(scratchpad_bytes(T, B, workspace != nullptr)));
  set_handle(st.pad, pad);
  float* A = static_cast<float*>(workspace ? workspace : pad + aligned(st.pad_bytes));
  float* c = A + T * BG;
  // Z = X W_ih for the whole chunk, then the recurrence step by step.
  sgemm('N', 'N', T * B, G, I_, src, I_, w_ih_, G, 0.0f, A, G);
  for (int t = 0; t < T; ++t) {
    set_handle(st.h, t == 0 ? h0 : dst + (t - 1) * BH), set_handle(st.z, A + t * BG);
    st.forward.execute(strm);
    step_forward(dst + t * BH, c + t * BH, A + t * BG, t == 0 ? c0 : c + (t - 1) * BH, bias, B, H_);
  }
  std::memcpy(h_T, dst + (T - 1) * BH, BH * sizeof(float));
  std::memcpy(c_T, c + (T - 1) * BH, BH * sizeof(float));
}

void GemmLstm::backward(float* dsrc, float* dh0, float* dc0, float* dw_ih, float* dw_hh, float* dbias,
                        const float* ddst, const float* dh_T, const float* dc_T, const float* src, const float* h0,
                        const float* c0, const float* dst, void* workspace, int T, int B, dnnl::stream& strm,
                        Scratchpad& scratch) {
  Step& st = step(B);
  WeightCopies::refresh(st.w_backward, strm);
  const int G = 4 * H_;
  const size_t BH = static_cast<size_t>(B) * H_, BG = static_cast<size_t>(B) * G;
  char* pad = static_cast<char*>(scratch.get(scratchpad_bytes(T, B, true)));
  set_handle(st.pad, pad);
  float* dh = reinterpret_cast<float*>(pad + aligned(st.pad_bytes));
  float* dc = dh + BH;
  float* dbias_partials = dc + BH;
  const int threads = omp_get_max_threads();
  std::fill_n(dbias_partials, static_cast<size_t>(threads) * G, 0.0f);
  float* A = static_cast<float*>(workspace);  // activations in, gate gradients dZ out
  const float* c = A + T * BG;
  // Last step to first: each step's dZ[t] gives the next one (t - 1) its dh through W_hh^T.
  for (int t = T - 1; t >= 0; --t) {
    const bool last = t == T - 1;
    step_backward(A + t * BG, t == 0 ? dc0 : dc, dbias_partials, last ? dc_T : dc, ddst + t * BH, last ? dh_T : dh,
                  c + t * BH, t == 0 ? c0 : c + (t - 1) * BH, B, H_);
    set_handle(st.z, A + t * BG), set_handle(st.h, t == 0 ? dh0 : dh);
    st.backward.execute(strm);
  }
  for (int k = 0; k < threads; ++k)  // in thread order: the same bits for the same thread count
    for (int j = 0; j < G; ++j) dbias[j] += dbias_partials[static_cast<size_t>(k) * G + j];
  // The products over the whole chunk: h_{t-1} is h0 for t = 0 and dst[t - 1] after.
  sgemm_blocks('T', 'N', I_, G, T * B, src, I_, A, G, 1.0f, dw_ih, G);
  sgemm_blocks('T', 'N', H_, G, B, h0, H_, A, G, 1.0f, dw_hh, G);
  if (T > 1) sgemm_blocks('T', 'N', H_, G, (T - 1) * B, dst, H_, A + BG, G, 1.0f, dw_hh, G);
  sgemm_blocks('N', 'T', T * B, I_, G, A, G, w_ih_, G, 0.0f, dsrc, I_);
}

}  // namespace tbptt::engine
