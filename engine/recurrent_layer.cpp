#include "engine/recurrent_layer.h"

#include <cstdlib>
#include <unordered_map>

#include "common/check.h"

namespace tbptt::engine {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

void* Scratchpad::get(size_t bytes) {
  if (bytes > bytes_) {
    const size_t rounded = (bytes + 4095) / 4096 * 4096;
    data_ = {static_cast<char*>(std::aligned_alloc(4096, rounded)), std::free};
    TBPTT_CHECK(data_, "out of memory for a " + std::to_string(rounded) + "-byte oneDNN scratchpad");
    bytes_ = rounded;
  }
  return data_.get();
}

// Everything one (T, B) needs: primitives built on first use, and one memory object per
// argument whose data handle is pointed at the caller's buffers right before each execute.
struct RecurrentLayer::Shape {
  memory::desc src_md, dst_md, state_md;
  dnnl::primitive fwd_train, fwd_infer, bwd;  // empty until first needed

  // Forward arguments (shared by the training and inference executes) and backward's extras.
  memory src, src_h, src_c, w_ih, w_hh, bias, dst, dst_h, dst_c, ws;
  memory bw_ih, bw_hh, dsrc, dsrc_h, dsrc_c, dw_ih, dw_hh, dbias, ddst, ddst_h, ddst_c;
  memory scratch_train, scratch_infer, scratch_bwd;
  std::unordered_map<int, memory> fwd_train_args, fwd_infer_args, bwd_args;
};

namespace {

constexpr auto kDir = dnnl::rnn_direction::unidirectional_left2right;

memory unbound(const memory::desc& md, const dnnl::engine& e) { return memory(md, e, DNNL_MEMORY_NONE); }

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // one shared buffer, sized by us
  return attr;
}

}  // namespace

RecurrentLayer::RecurrentLayer(const dnnl::engine& engine, Cell cell, int I, int H)
    : engine_(engine), cell_(cell), I_(I), H_(H) {
  const int G = gates(cell);
  // Recipe: weights as stored are plain ldigo; backward needs ldgoi. One reorder each, per update.
  const memory::desc ih_ldigo({1, 1, I, G, H}, dt::f32, tag::ldigo), hh_ldigo({1, 1, H, G, H}, dt::f32, tag::ldigo);
  const memory::desc ih_ldgoi({1, 1, I, G, H}, dt::f32, tag::ldgoi), hh_ldgoi({1, 1, H, G, H}, dt::f32, tag::ldgoi);
  user_w_ih_ = unbound(ih_ldigo, engine_);
  user_w_hh_ = unbound(hh_ldigo, engine_);
  bwd_w_ih_ = memory(ih_ldgoi, engine_);
  bwd_w_hh_ = memory(hh_ldgoi, engine_);
  reorder_ih_ = dnnl::reorder(user_w_ih_, bwd_w_ih_);
  reorder_hh_ = dnnl::reorder(user_w_hh_, bwd_w_hh_);
}

RecurrentLayer::~RecurrentLayer() = default;
RecurrentLayer::RecurrentLayer(RecurrentLayer&&) noexcept = default;

RecurrentLayer::Shape& RecurrentLayer::shape(int T, int B) {
  auto& slot = shapes_[{T, B}];
  if (slot) return *slot;
  slot = std::make_unique<Shape>();
  Shape& s = *slot;
  const int G = gates(cell_), Gb = bias_gates(cell_);
  s.src_md = memory::desc({T, B, I_}, dt::f32, tag::tnc);
  s.dst_md = memory::desc({T, B, H_}, dt::f32, tag::tnc);
  s.state_md = memory::desc({1, 1, B, H_}, dt::f32, tag::ldnc);
  const memory::desc w_ih_md({1, 1, I_, G, H_}, dt::f32, tag::ldigo), w_hh_md({1, 1, H_, G, H_}, dt::f32, tag::ldigo);
  const memory::desc bias_md({1, 1, Gb, H_}, dt::f32, tag::ldgo);
  for (memory* m : {&s.src, &s.dsrc}) *m = unbound(s.src_md, engine_);
  for (memory* m : {&s.dst, &s.ddst}) *m = unbound(s.dst_md, engine_);
  for (memory* m : {&s.src_h, &s.src_c, &s.dst_h, &s.dst_c, &s.dsrc_h, &s.dsrc_c, &s.ddst_h, &s.ddst_c})
    *m = unbound(s.state_md, engine_);
  for (memory* m : {&s.w_ih, &s.dw_ih}) *m = unbound(w_ih_md, engine_);
  for (memory* m : {&s.w_hh, &s.dw_hh}) *m = unbound(w_hh_md, engine_);
  for (memory* m : {&s.bias, &s.dbias}) *m = unbound(bias_md, engine_);
  s.bw_ih = unbound(bwd_w_ih_.get_desc(), engine_);
  s.bw_hh = unbound(bwd_w_hh_.get_desc(), engine_);
  return s;
}

namespace {

// The forward (and, when training, the backward) primitive of one cell. The three cells differ
// only in their descriptor types; everything after creation is shared.
struct Built {
  dnnl::primitive fwd, bwd;
  memory::desc ws, scratch_fwd, scratch_bwd;
};

template <class Fwd, class Bwd>
Built make(const dnnl::engine& e, bool training, const typename Fwd::desc& fwd, const typename Bwd::desc& bwd) {
  const auto attr = user_scratchpad();
  typename Fwd::primitive_desc fpd(fwd, attr, e);
  Built b{Fwd(fpd), {}, fpd.workspace_desc(), fpd.scratchpad_desc(), {}};
  if (training) {
    typename Bwd::primitive_desc bpd(bwd, attr, e, fpd);  // the forward pd is the hint
    b.bwd = Bwd(bpd);
    b.scratch_bwd = bpd.scratchpad_desc();
  }
  return b;
}

// src [T][B][I], st [1][1][B][H], weights as stored (w) and as backward wants them (bw).
Built build_cell(Cell cell, const dnnl::engine& e, bool training, const memory::desc& src, const memory::desc& st,
                 const memory::desc& w_ih, const memory::desc& w_hh, const memory::desc& bw_ih,
                 const memory::desc& bw_hh, const memory::desc& bias, const memory::desc& dst) {
  const auto fp = training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  const auto bp = dnnl::prop_kind::backward;
  switch (cell) {
    case Cell::lstm:
      return make<dnnl::lstm_forward, dnnl::lstm_backward>(
          e, training, {fp, kDir, src, st, st, w_ih, w_hh, bias, dst, st, st},
          {bp, kDir, src, st, st, bw_ih, bw_hh, bias, dst, st, st, src, st, st, w_ih, w_hh, bias, dst, st, st});
    case Cell::gru:
      return make<dnnl::lbr_gru_forward, dnnl::lbr_gru_backward>(
          e, training, {fp, kDir, src, st, w_ih, w_hh, bias, dst, st},
          {bp, kDir, src, st, bw_ih, bw_hh, bias, dst, st, src, st, w_ih, w_hh, bias, dst, st});
    case Cell::rnn_tanh: {
      const auto tanh = dnnl::algorithm::eltwise_tanh;
      return make<dnnl::vanilla_rnn_forward, dnnl::vanilla_rnn_backward>(
          e, training, {fp, tanh, kDir, src, st, w_ih, w_hh, bias, dst, st},
          {bp, tanh, kDir, src, st, bw_ih, bw_hh, bias, dst, st, src, st, w_ih, w_hh, bias, dst, st});
    }
  }
  TBPTT_CHECK(false, "unknown cell");
}

void set(const memory& m, const void* p) { m.set_data_handle(const_cast<void*>(p)); }

}  // namespace

void RecurrentLayer::build(Shape& s, bool training) {
  const Built b = build_cell(cell_, engine_, training, s.src_md, s.state_md, s.w_ih.get_desc(), s.w_hh.get_desc(),
                             s.bw_ih.get_desc(), s.bw_hh.get_desc(), s.bias.get_desc(), s.dst_md);
  const bool lstm = cell_ == Cell::lstm;
  std::unordered_map<int, memory> fwd = {{DNNL_ARG_SRC_LAYER, s.src},   {DNNL_ARG_SRC_ITER, s.src_h},
                                         {DNNL_ARG_WEIGHTS_LAYER, s.w_ih}, {DNNL_ARG_WEIGHTS_ITER, s.w_hh},
                                         {DNNL_ARG_BIAS, s.bias},        {DNNL_ARG_DST_LAYER, s.dst},
                                         {DNNL_ARG_DST_ITER, s.dst_h}};
  if (lstm) fwd.insert({{DNNL_ARG_SRC_ITER_C, s.src_c}, {DNNL_ARG_DST_ITER_C, s.dst_c}});
  if (!training) {
    s.fwd_infer = b.fwd;
    s.scratch_infer = unbound(b.scratch_fwd, engine_);
    fwd[DNNL_ARG_SCRATCHPAD] = s.scratch_infer;
    s.fwd_infer_args = std::move(fwd);
    return;
  }
  s.fwd_train = b.fwd;
  s.bwd = b.bwd;
  s.ws = unbound(b.ws, engine_);
  s.scratch_train = unbound(b.scratch_fwd, engine_);
  s.scratch_bwd = unbound(b.scratch_bwd, engine_);
  fwd[DNNL_ARG_WORKSPACE] = s.ws;
  std::unordered_map<int, memory> bwd = fwd;  // backward reads every forward argument ...
  fwd[DNNL_ARG_SCRATCHPAD] = s.scratch_train;
  bwd[DNNL_ARG_WEIGHTS_LAYER] = s.bw_ih;       // ... but the weights in ldgoi
  bwd[DNNL_ARG_WEIGHTS_ITER] = s.bw_hh;
  bwd[DNNL_ARG_SCRATCHPAD] = s.scratch_bwd;
  bwd.insert({{DNNL_ARG_DIFF_SRC_LAYER, s.dsrc},      {DNNL_ARG_DIFF_SRC_ITER, s.dsrc_h},
              {DNNL_ARG_DIFF_WEIGHTS_LAYER, s.dw_ih}, {DNNL_ARG_DIFF_WEIGHTS_ITER, s.dw_hh},
              {DNNL_ARG_DIFF_BIAS, s.dbias},          {DNNL_ARG_DIFF_DST_LAYER, s.ddst},
              {DNNL_ARG_DIFF_DST_ITER, s.ddst_h}});
  if (lstm) bwd.insert({{DNNL_ARG_DIFF_SRC_ITER_C, s.dsrc_c}, {DNNL_ARG_DIFF_DST_ITER_C, s.ddst_c}});
  s.fwd_train_args = std::move(fwd);
  s.bwd_args = std::move(bwd);
}

RecurrentLayer::Shape& RecurrentLayer::built(int T, int B, bool training) {
  Shape& s = shape(T, B);
  if (training && !s.fwd_train) build(s, true);
  if (!training && !s.fwd_infer) build(s, false);
  return s;
}

size_t RecurrentLayer::workspace_bytes(int T, int B) { return built(T, B, true).ws.get_desc().get_size(); }

size_t RecurrentLayer::scratchpad_bytes(int T, int B) {
  Shape& s = built(T, B, true);
  return std::max(s.scratch_train.get_desc().get_size(), s.scratch_bwd.get_desc().get_size());
}

void RecurrentLayer::forward(float* dst, StatePtr dst_state, const float* src, StatePtr src_state,
                             const float* w_ih, const float* w_hh, const float* bias, void* workspace, int T, int B,
                             dnnl::stream& strm, Scratchpad& scratch) {
  const bool training = workspace != nullptr;
  Shape& s = built(T, B, training);
  set(s.src, src), set(s.src_h, src_state.h), set(s.w_ih, w_ih), set(s.w_hh, w_hh), set(s.bias, bias);
  set(s.dst, dst), set(s.dst_h, dst_state.h);
  if (cell_ == Cell::lstm) set(s.src_c, src_state.c), set(s.dst_c, dst_state.c);
  memory& scratch_mem = training ? s.scratch_train : s.scratch_infer;
  set(scratch_mem, scratch.get(scratch_mem.get_desc().get_size()));
  if (training) {
    set(s.ws, workspace);
    s.fwd_train.execute(strm, s.fwd_train_args);
  } else {
    s.fwd_infer.execute(strm, s.fwd_infer_args);
  }
}

void RecurrentLayer::prepare_backward(const float* w_ih, const float* w_hh, dnnl::stream& strm) {
  set(user_w_ih_, w_ih), set(user_w_hh_, w_hh);
  reorder_ih_.execute(strm, user_w_ih_, bwd_w_ih_);
  reorder_hh_.execute(strm, user_w_hh_, bwd_w_hh_);
}

void RecurrentLayer::backward(float* dsrc, StatePtr dsrc_state, float* dw_ih, float* dw_hh, float* dbias,
                              const float* ddst, StatePtr ddst_state, const float* src, StatePtr src_state,
                              const float* dst, StatePtr dst_state, const float* bias, void* workspace, int T, int B,
                              dnnl::stream& strm, Scratchpad& scratch) {
  Shape& s = built(T, B, true);
  set(s.src, src), set(s.src_h, src_state.h), set(s.bias, bias), set(s.dst, dst), set(s.dst_h, dst_state.h);
  set(s.bw_ih, bwd_w_ih_.get_data_handle()), set(s.bw_hh, bwd_w_hh_.get_data_handle());
  set(s.ws, workspace);
  set(s.dsrc, dsrc), set(s.dsrc_h, dsrc_state.h), set(s.dw_ih, dw_ih), set(s.dw_hh, dw_hh), set(s.dbias, dbias);
  set(s.ddst, ddst), set(s.ddst_h, ddst_state.h);
  if (cell_ == Cell::lstm) {
    set(s.src_c, src_state.c), set(s.dst_c, dst_state.c), set(s.dsrc_c, dsrc_state.c), set(s.ddst_c, ddst_state.c);
  }
  set(s.scratch_bwd, scratch.get(s.scratch_bwd.get_desc().get_size()));
  s.bwd.execute(strm, s.bwd_args);
}

}  // namespace tbptt::engine
