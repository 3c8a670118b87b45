#include "engine/gemm_lstm.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "common/check.h"
#include "engine/bf16.h"
#include "engine/bound_primitive.h"
#include "engine/layers.h"
#include "engine/sgemm.h"
#include "engine/simd.h"

namespace tbptt::engine {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

size_t aligned(size_t bytes) { return (bytes + 63) / 64 * 64; }

// omp_get_max_threads() is 1 for the calling thread while it lives (also if oneDNN throws).
struct OneThread {
  int saved = omp_get_max_threads();
  OneThread() { omp_set_num_threads(1); }
  ~OneThread() { omp_set_num_threads(saved); }
  OneThread(const OneThread&) = delete;
  OneThread& operator=(const OneThread&) = delete;
};

// The per-step products of one thread's rows [b0, b1) of the batch, on matmul primitives that
// read W_hh packed in the layout they chose (`any`), copied once per pass:
//   forward   Z[t] [rows][4H] += h [rows][H] W_hh [H][4H]    (a sum post-op accumulates onto X W_ih)
//   backward  dh   [rows][H]   = dZ[t] [rows][4H] W_hh^T [4H][H]
// h and dZ in the layer's data type, Z and dh f32.
struct Lane {
  int b0 = 0, b1 = 0;
  memory h, z, dz, dh, pad;  // handles set before each execute
  dnnl::stream stream;       // a stream is not thread-safe: one per lane
  BoundPrimitive forward, backward;
  WeightCopies::Copy *w_forward = nullptr, *w_backward = nullptr;
};

// The elementwise work of one step on rows [b0, b1), each row whole. Inlined into the vector
// clones that call them (simd.h); Act is the layer's data type (float or bfloat16).

[[gnu::always_inline]] inline float round_to(float, float x) { return x; }
[[gnu::always_inline]] inline bfloat16 round_to(bfloat16, float x) { return to_bf16(x); }

// A = act(Z + bias) in place ([B][4H]); c = f c_prev + i c~; h = o tanh(c) ([B][H] each).
template <class Act>
[[gnu::always_inline]] inline void step_forward(Act* h, float* c, float* A, const float* c_prev, const float* bias,
                                                int b0, int b1, int H) {
  for (int b = b0; b < b1; ++b) {
    float* a = A + static_cast<size_t>(b) * 4 * H;
    const size_t row = static_cast<size_t>(b) * H;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const float i = sigmoid(a[j] + bias[j]), f = sigmoid(a[H + j] + bias[H + j]);
      const float g = tanh_approx(a[2 * H + j] + bias[2 * H + j]), o = sigmoid(a[3 * H + j] + bias[3 * H + j]);
      a[j] = i, a[H + j] = f, a[2 * H + j] = g, a[3 * H + j] = o;
      const float ct = f * c_prev[row + j] + i * g;
      c[row + j] = ct;
      h[row + j] = round_to(Act{}, o * tanh_approx(ct));
    }
  }
}

// A (activations) -> dZ (f32: A itself, written in place); dc_out = dc f (may be dc_in); the
// rows of dZ are added into db [4H], the lane's row of the bias gradient's partial sums.
// dh = ddst + dh_next: the gradient reaching h_t from above and from step t + 1.
template <class Act>
[[gnu::always_inline]] inline void step_backward(Act* dZ, float* dc_out, float* db, const float* A, const float* dc_in,
                                                 const float* ddst, const float* dh_next, const float* c,
                                                 const float* c_prev, int b0, int b1, int H) {
  for (int b = b0; b < b1; ++b) {
    const float* a = A + static_cast<size_t>(b) * 4 * H;
    Act* d = dZ + static_cast<size_t>(b) * 4 * H;
    const size_t row = static_cast<size_t>(b) * H;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const float i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j];
      const float tc = tanh_approx(c[row + j]);
      const float dh = ddst[row + j] + dh_next[row + j];
      const float dc = dc_in[row + j] + dh * o * (1.0f - tc * tc);
      const float di = dc * g * i * (1.0f - i), df = dc * c_prev[row + j] * f * (1.0f - f);
      const float dg = dc * i * (1.0f - g * g), d_o = dh * tc * o * (1.0f - o);
      d[j] = round_to(Act{}, di), d[H + j] = round_to(Act{}, df);
      d[2 * H + j] = round_to(Act{}, dg), d[3 * H + j] = round_to(Act{}, d_o);
      db[j] += di, db[H + j] += df, db[2 * H + j] += dg, db[3 * H + j] += d_o;
      dc_out[row + j] = dc * f;
    }
  }
}

// A folded input's step: Z[t] rows [b0, b1) = table rows ids[b] ([B][4H] and [V][4H]).
inline void gather_rows(float* Z, const int32_t* ids, const float* table, int b0, int b1, int H) {
  const size_t G = 4 * static_cast<size_t>(H);
  for (int b = b0; b < b1; ++b) std::memcpy(Z + b * G, table + static_cast<size_t>(ids[b]) * G, G * sizeof(float));
}

// The recurrence of a chunk on one lane's rows: every step, forward. False if a primitive failed
// (the caller may be in a parallel region, which an exception must not leave). tokens.ids set:
// each step's X W_ih is gathered from the table first, else A already holds it.
template <class Act>
[[gnu::always_inline]] inline bool forward_steps(Lane& lane, Act* dst, float* c, float* A, const Act* h0,
                                                const float* c0, const float* bias, const TokenRows& tokens, int T,
                                                int B, int H) {
  const size_t BH = static_cast<size_t>(B) * H, BG = 4 * BH;
  const size_t hrow = static_cast<size_t>(lane.b0) * H, zrow = 4 * hrow;
  for (int t = 0; t < T; ++t) {
    if (tokens.ids) gather_rows(A + t * BG, tokens.ids + static_cast<size_t>(t) * B, tokens.table, lane.b0, lane.b1, H);
    set_handle(lane.h, (t == 0 ? h0 : dst + (t - 1) * BH) + hrow), set_handle(lane.z, A + t * BG + zrow);
    if (!lane.forward.try_execute(lane.stream)) return false;
    step_forward(dst + t * BH, c + t * BH, A + t * BG, t == 0 ? c0 : c + (t - 1) * BH, bias, lane.b0, lane.b1, H);
  }
  return true;
}

// The same, backward, last step to first: each step's dZ[t] gives the next one (t - 1) its dh
// through W_hh^T. dh, dc: the running state gradient [B][H]; db: the lane's bias partial sums [4H].
template <class Act>
[[gnu::always_inline]] inline bool backward_steps(Lane& lane, Act* dZ, float* dh, float* dc, float* dh0, float* dc0,
                                                 float* db, const float* A, const float* ddst, const float* dh_T,
                                                 const float* dc_T, const float* c, const float* c0, int T, int B,
                                                 int H) {
  const size_t BH = static_cast<size_t>(B) * H, BG = 4 * BH;
  const size_t hrow = static_cast<size_t>(lane.b0) * H, zrow = 4 * hrow;
  for (int t = T - 1; t >= 0; --t) {
    const bool last = t == T - 1;
    step_backward(dZ + t * BG, t == 0 ? dc0 : dc, db, A + t * BG, last ? dc_T : dc, ddst + t * BH,
                  last ? dh_T : dh, c + t * BH, t == 0 ? c0 : c + (t - 1) * BH, lane.b0, lane.b1, H);
    set_handle(lane.dz, dZ + t * BG + zrow), set_handle(lane.dh, (t == 0 ? dh0 : dh) + hrow);
    if (!lane.backward.try_execute(lane.stream)) return false;
  }
  return true;
}

// One lane's steps in the layer's data type (a function, not a lambda: inlined, it is compiled
// into the vector clones below).
[[gnu::always_inline]] inline bool forward_lane(Lane& lane, bool bf16, void* dst, float* c, float* A, const void* h0,
                                                const float* c0, const float* bias, const TokenRows& tokens, int T,
                                                int B, int H) {
  if (bf16)
    return forward_steps(lane, static_cast<bfloat16*>(dst), c, A, static_cast<const bfloat16*>(h0), c0, bias, tokens,
                         T, B, H);
  return forward_steps(lane, static_cast<float*>(dst), c, A, static_cast<const float*>(h0), c0, bias, tokens, T, B, H);
}

[[gnu::always_inline]] inline bool backward_lane(Lane& lane, bool bf16, void* dZ, float* dh, float* dc, float* dh0,
                                                 float* dc0, float* db, const float* A, const float* ddst,
                                                 const float* dh_T, const float* dc_T, const float* c, const float* c0,
                                                 int T, int B, int H) {
  if (bf16)
    return backward_steps(lane, static_cast<bfloat16*>(dZ), dh, dc, dh0, dc0, db, A, ddst, dh_T, dc_T, c, c0, T, B, H);
  return backward_steps(lane, static_cast<float*>(dZ), dh, dc, dh0, dc0, db, A, ddst, dh_T, dc_T, c, c0, T, B, H);
}

// All lanes of a chunk. An LSTM's batch rows never meet: each lane runs every step on its own
// rows, with no barrier between steps (one team for the chunk, not two per step); a thread runs
// lane after lane if the team is smaller. One lane runs outside any parallel region: called inside
// one, even an inactive one (`if (false)`), oneDNN's matmul runs as a nested parallel region, and
// the seed regressor's update (one lane) took 4.9 ms instead of 0.34 on 2 threads.
TBPTT_VECTOR_CLONES
bool recur_forward(std::vector<Lane>& lanes, bool bf16, void* dst, float* c, float* A, const void* h0, const float* c0,
                   const float* bias, const TokenRows& tokens, int T, int B, int H) {
  const int n = static_cast<int>(lanes.size());
  if (n == 1) return forward_lane(lanes[0], bf16, dst, c, A, h0, c0, bias, tokens, T, B, H);
  bool ok = true;
#pragma omp parallel num_threads(n) reduction(&& : ok)
  for (int l = omp_get_thread_num(); l < n; l += omp_get_num_threads())
    ok = forward_lane(lanes[static_cast<size_t>(l)], bf16, dst, c, A, h0, c0, bias, tokens, T, B, H) && ok;
  return ok;
}

// dZ: A itself (f32) or a [T][B][4H] bf16 buffer; dbias_partials [lanes][4H].
TBPTT_VECTOR_CLONES
bool recur_backward(std::vector<Lane>& lanes, bool bf16, void* dZ, float* dh, float* dc, float* dh0, float* dc0,
                    float* dbias_partials, const float* A, const float* ddst, const float* dh_T, const float* dc_T,
                    const float* c, const float* c0, int T, int B, int H) {
  const int n = static_cast<int>(lanes.size());
  if (n == 1)
    return backward_lane(lanes[0], bf16, dZ, dh, dc, dh0, dc0, dbias_partials, A, ddst, dh_T, dc_T, c, c0, T, B, H);
  bool ok = true;
#pragma omp parallel num_threads(n) reduction(&& : ok)
  for (int l = omp_get_thread_num(); l < n; l += omp_get_num_threads()) {
    float* db = dbias_partials + static_cast<size_t>(l) * 4 * H;
    ok = backward_lane(lanes[static_cast<size_t>(l)], bf16, dZ, dh, dc, dh0, dc0, db, A, ddst, dh_T, dc_T, c, c0, T, B,
                       H) && ok;
  }
  return ok;
}

}  // namespace

// The lanes of one B at one thread count, and the scratchpad each gets.
struct GemmLstm::Step {
  std::vector<Lane> lanes;
  size_t pad_bytes = 0;  // per lane, 64-byte aligned
};

// A bf16 layer's products over a whole chunk of T steps and B rows (an f32 layer calls sgemm):
//   zx     Z  [TB][4H]  = X [TB][I] W_ih [I][4H]
//   dw_ih  dW_ih [I][4H] += X^T dZ                  (X^T: X read by columns)
//   dw_h0  dW_hh [H][4H] += h0^T dZ[0]              (the first step's h_{t-1} is the initial state)
//   dw_hh  dW_hh [H][4H] += dst[0, T-1)^T dZ[1, T)  (T > 1)
//   dx     dX [TB][I]    = dZ W_ih^T                 (W_ih^T: W_ih read by columns)
struct GemmLstm::Chunk {
  Bf16Product zx, dw_ih, dw_h0, dw_hh, dx;
  size_t pad_bytes = 0;  // the most any of them needs
};

// The scratchpad of one pass, in this order (each part 64-byte aligned):
//   lanes     every lane's matmul scratchpad
//   own       training: the running dh and dc [B][H] each and the bias gradient's per-lane sums
//             [lanes][4H]; inference: A and c (no workspace keeps them)
//   dz        training a bf16 layer: dZ [T][B][4H] in bf16
//   products  a bf16 layer's chunk products
struct GemmLstm::Pad {
  size_t lanes = 0, own = 0, dz = 0, products = 0;
  size_t own_at() const { return lanes; }  // byte offsets of the parts
  size_t dz_at() const { return lanes + own; }
  size_t products_at() const { return lanes + own + dz; }
  size_t total() const { return lanes + own + dz + products; }
};

GemmLstm::GemmLstm(const dnnl::engine& engine, int I, int H, Precision precision)
    : engine_(engine), I_(I), H_(H), bf16_(precision == Precision::bf16),
      act_(bf16_ ? sizeof(bfloat16) : sizeof(float)), copies_(engine) {
  const memory::dim Id = I, Hd = H, G = 4 * Hd;
  user_ih_ = memory(memory::desc({Id, G}, dt::f32, tag::ab), engine_, DNNL_MEMORY_NONE);
  user_hh_ = memory(memory::desc({Hd, G}, dt::f32, tag::ab), engine_, DNNL_MEMORY_NONE);
  user_hh_t_ = memory(memory::desc({G, Hd}, dt::f32, memory::dims{1, G}), engine_, DNNL_MEMORY_NONE);
  if (bf16_) w_ih16_ = &copies_.of(user_ih_, memory::desc({Id, G}, dt::bf16, tag::ab));
}

GemmLstm::~GemmLstm() = default;
GemmLstm::GemmLstm(GemmLstm&&) noexcept = default;

// Lanes: one per thread when a step's elementwise work is worth the team (B * H >= kParallelUnits),
// else one lane of all B rows on oneDNN's own threads.
GemmLstm::Step& GemmLstm::step(int B) {
  const int threads = omp_get_max_threads();
  const int n = threads > 1 && static_cast<int64_t>(B) * H_ >= kParallelUnits ? std::min(threads, B) : 1;
  auto& slot = steps_[{B, threads}];
  if (slot) return *slot;
  slot = std::make_unique<Step>();
  Step& s = *slot;
  s.lanes.resize(static_cast<size_t>(n));
  // A primitive divides its work among the threads it was created for, and inside a parallel
  // region oneDNN gives it one: the lanes' primitives are created for one thread.
  std::optional<OneThread> one_thread;
  if (n > 1) one_thread.emplace();
  const dt act = bf16_ ? dt::bf16 : dt::f32;
  for (int l = 0; l < n; ++l) {
    Lane& lane = s.lanes[static_cast<size_t>(l)];
    lane.b0 = B * l / n, lane.b1 = B * (l + 1) / n;
    const memory::dim rows = lane.b1 - lane.b0, Hd = H_, G = 4 * Hd;
    const memory::desc h_md({rows, Hd}, act, tag::ab), z_md({rows, G}, dt::f32, tag::ab);
    const memory::desc dz_md({rows, G}, act, tag::ab), dh_md({rows, Hd}, dt::f32, tag::ab);
    // 1. Describe both products with `any` weights: the primitive picks its packed layout.
    // (dnnl::primitive_attr copies share one C object: each primitive gets its own.)
    dnnl::primitive_attr attr, accumulate;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // a slice of the model's scratchpad
    accumulate.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::post_ops sum;
    sum.append_sum(1.0f);
    accumulate.set_post_ops(sum);
    const dnnl::matmul::primitive_desc fpd(
        dnnl::matmul::desc(h_md, memory::desc({Hd, G}, act, tag::any), z_md), accumulate, engine_);
    const dnnl::matmul::primitive_desc bpd(
        dnnl::matmul::desc(dz_md, memory::desc({G, Hd}, act, tag::any), dh_md), attr, engine_);
    // 2. The weights in those layouts, reordered (and for bf16 rounded) from the parameters once
    // per pass (lanes whose primitives chose the same layout share a copy).
    lane.w_forward = &copies_.of(user_hh_, fpd.weights_desc());
    lane.w_backward = &copies_.of(user_hh_t_, bpd.weights_desc());
    // 3. Bind the arguments once; only the data handles change per step.
    lane.h = memory(h_md, engine_, DNNL_MEMORY_NONE), lane.z = memory(z_md, engine_, DNNL_MEMORY_NONE);
    lane.dz = memory(dz_md, engine_, DNNL_MEMORY_NONE), lane.dh = memory(dh_md, engine_, DNNL_MEMORY_NONE);
    const size_t pad = std::max(fpd.scratchpad_desc().get_size(), bpd.scratchpad_desc().get_size());
    lane.pad = memory(memory::desc({static_cast<memory::dim>(pad)}, dt::u8, tag::a), engine_, DNNL_MEMORY_NONE);
    s.pad_bytes = std::max(s.pad_bytes, aligned(pad));
    lane.stream = dnnl::stream(engine_);
    lane.forward = BoundPrimitive(dnnl::matmul(fpd), {{DNNL_ARG_SRC, lane.h},
                                                      {DNNL_ARG_WEIGHTS, lane.w_forward->mem},
                                                      {DNNL_ARG_DST, lane.z},
                                                      {DNNL_ARG_SCRATCHPAD, lane.pad}});
    lane.backward = BoundPrimitive(dnnl::matmul(bpd), {{DNNL_ARG_SRC, lane.dz},
                                                       {DNNL_ARG_WEIGHTS, lane.w_backward->mem},
                                                       {DNNL_ARG_DST, lane.dh},
                                                       {DNNL_ARG_SCRATCHPAD, lane.pad}});
  }
  return s;
}

GemmLstm::Chunk& GemmLstm::chunk(int T, int B) {
  auto& slot = chunks_[{T, B}];
  if (slot) return *slot;
  const int TB = T * B, G = 4 * H_;
  const memory::dim I = I_, Hd = H_, Gd = G;
  slot = std::make_unique<Chunk>();
  Chunk& c = *slot;
  c.zx = Bf16Product(engine_, TB, G, I_, {I, 1}, {Gd, 1});
  c.dw_ih = Bf16Product(engine_, I_, G, TB, {1, I}, {Gd, 1}, true);
  c.dw_h0 = Bf16Product(engine_, H_, G, B, {1, Hd}, {Gd, 1}, true);
  if (T > 1) c.dw_hh = Bf16Product(engine_, H_, G, TB - B, {1, Hd}, {Gd, 1}, true);
  c.dx = Bf16Product(engine_, TB, I_, G, {Gd, 1}, {1, Gd});
  for (const Bf16Product* p : {&c.zx, &c.dw_ih, &c.dw_h0, &c.dw_hh, &c.dx})  // dw_hh is empty when T = 1
    c.pad_bytes = std::max(c.pad_bytes, aligned(p->scratchpad_bytes()));
  return c;
}

GemmLstm::Pad GemmLstm::pad_layout(int T, int B, bool training) {
  const Step& st = step(B);
  Pad p;
  p.lanes = st.lanes.size() * st.pad_bytes;
  const size_t states = (2 * static_cast<size_t>(B) + 4 * st.lanes.size()) * H_ * sizeof(float);
  p.own = training ? aligned(states) : workspace_bytes(T, B);
  p.dz = training && bf16_ ? aligned(static_cast<size_t>(T) * B * 4 * H_ * sizeof(bfloat16)) : 0;
  p.products = bf16_ ? chunk(T, B).pad_bytes : 0;
  return p;
}

// Points every lane at its slice of the scratchpad and brings the weight copies up to date.
void GemmLstm::bind(Step& st, char* pad, bool forward, dnnl::stream& strm) {
  for (size_t l = 0; l < st.lanes.size(); ++l) {
    Lane& lane = st.lanes[l];
    set_handle(lane.pad, pad + l * st.pad_bytes);
    WeightCopies::refresh(forward ? lane.w_forward : lane.w_backward, strm);
  }
  WeightCopies::refresh(w_ih16_, strm);
}

size_t GemmLstm::workspace_bytes(int T, int B) const {
  return aligned(static_cast<size_t>(T) * B * 5 * H_ * sizeof(float));  // A [T][B][4H] | c [T][B][H]
}

size_t GemmLstm::scratchpad_bytes(int T, int B, bool training) { return pad_layout(T, B, training).total(); }

size_t GemmLstm::weight_copy_bytes(int B) {
  step(B);
  return copies_.bytes();
}

void GemmLstm::set_weights(const float* w_ih, const float* w_hh) {
  w_ih_ = w_ih, w_hh_ = w_hh;
  set_handle(user_ih_, w_ih), set_handle(user_hh_, w_hh), set_handle(user_hh_t_, w_hh);
  copies_.set_stale();
}

void GemmLstm::forward(void* dst, void* h_T, float* c_T, const void* src, const void* h0, const float* c0,
                       const float* bias, void* workspace, int T, int B, dnnl::stream& strm, Scratchpad& scratch,
                       const TokenRows& tokens) {
  TBPTT_CHECK(w_ih_ && w_hh_, "set_weights must come before the first pass");
  Step& st = step(B);
  const int G = 4 * H_;
  const size_t BG = static_cast<size_t>(B) * G, BH = static_cast<size_t>(B) * H_;
  const Pad layout = pad_layout(T, B, workspace != nullptr);
  char* pad = static_cast<char*>(scratch.get(layout.total()));
  bind(st, pad, true, strm);
  float* A = static_cast<float*>(workspace ? workspace : pad + layout.own_at());
  float* c = A + T * BG;
  // Z = X W_ih for the whole chunk (a folded input: step by step, from the table), then the
  // recurrence step by step.
  if (tokens.ids)
    TBPTT_CHECK(tokens.table, "a folded input needs its table");
  else if (bf16_)
    chunk(T, B).zx.run(A, src, w_ih16_->mem.get_data_handle(), pad + layout.products_at(), strm);
  else
    sgemm('N', 'N', T * B, G, I_, static_cast<const float*>(src), I_, w_ih_, G, 0.0f, A, G);
  TBPTT_CHECK(recur_forward(st.lanes, bf16_, dst, c, A, h0, c0, bias, tokens, T, B, H_),
              "a oneDNN matmul failed to execute");
  std::memcpy(h_T, static_cast<const char*>(dst) + (T - 1) * BH * act_, BH * act_);
  std::memcpy(c_T, c + (T - 1) * BH, BH * sizeof(float));
}

void GemmLstm::backward(float* dsrc, float* dh0, float* dc0, float* dw_ih, float* dw_hh, float* dbias,
                        const float* ddst, const float* dh_T, const float* dc_T, const void* src, const void* h0,
                        const float* c0, const void* dst, void* workspace, int T, int B, dnnl::stream& strm,
                        Scratchpad& scratch, const TokenRows& tokens) {
  TBPTT_CHECK(!tokens.ids || tokens.dtable, "a folded input's backward needs its dtable");
  Step& st = step(B);
  const int G = 4 * H_;
  const size_t BH = static_cast<size_t>(B) * H_, BG = static_cast<size_t>(B) * G;
  const Pad layout = pad_layout(T, B, true);
  char* pad = static_cast<char*>(scratch.get(layout.total()));
  bind(st, pad, false, strm);
  float* dh = reinterpret_cast<float*>(pad + layout.own_at());
  float* dc = dh + BH;
  float* dbias_partials = dc + BH;
  const size_t lanes = st.lanes.size();
  std::fill_n(dbias_partials, lanes * G, 0.0f);
  float* A = static_cast<float*>(workspace);  // the activations; for f32 also dZ, in place
  const float* c = A + T * BG;
  void* dZ = bf16_ ? static_cast<void*>(pad + layout.dz_at()) : A;
  TBPTT_CHECK(recur_backward(st.lanes, bf16_, dZ, dh, dc, dh0, dc0, dbias_partials, A, ddst, dh_T, dc_T, c, c0, T, B,
                             H_),
              "a oneDNN matmul failed to execute");
  for (size_t l = 0; l < lanes; ++l)  // in lane order: the same bits for the same thread count
    for (int j = 0; j < G; ++j) dbias[j] += dbias_partials[l * G + j];
  // The products over the whole chunk: h_{t-1} is h0 for t = 0 and dst[t - 1] after. A folded
  // input's dW_ih and dX are the model's, from the table's gradient: dZ's rows summed by id.
  if (bf16_) {
    const Chunk& ch = chunk(T, B);
    void* products_pad = pad + layout.products_at();
    const auto* dZ16 = static_cast<const bfloat16*>(dZ);
    ch.dw_h0.run(dw_hh, h0, dZ16, products_pad, strm);
    if (T > 1) ch.dw_hh.run(dw_hh, dst, dZ16 + BG, products_pad, strm);
    if (tokens.ids) return embedding_backward(tokens.dtable, dZ16, tokens.ids, T * B, G);
    ch.dw_ih.run(dw_ih, src, dZ16, products_pad, strm);
    ch.dx.run(dsrc, dZ16, w_ih16_->mem.get_data_handle(), products_pad, strm);
    return;
  }
  sgemm_blocks('T', 'N', H_, G, B, static_cast<const float*>(h0), H_, A, G, 1.0f, dw_hh, G);
  if (T > 1) sgemm_blocks('T', 'N', H_, G, (T - 1) * B, static_cast<const float*>(dst), H_, A + BG, G, 1.0f, dw_hh, G);
  if (tokens.ids) return embedding_backward(tokens.dtable, A, tokens.ids, T * B, G);
  sgemm_blocks('T', 'N', I_, G, T * B, static_cast<const float*>(src), I_, A, G, 1.0f, dw_ih, G);
  sgemm_blocks('N', 'T', T * B, I_, G, A, G, w_ih_, G, 0.0f, dsrc, I_);
}

}  // namespace tbptt::engine
