#include "engine/recurrent_layer.h"

#include <unordered_map>

#include "common/check.h"

namespace tbptt::engine {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// Everything one (T, B) needs: primitives built on first use, and one memory object per
// argument whose data handle is pointed at the caller's buffers right before each execute.
struct RecurrentLayer::Shape {
  memory::desc src_md, dst_md, h_md, c_md, dsrc_md, ddst_md, dstate_md;
  dnnl::primitive fwd_train, fwd_infer, bwd;  // empty until first needed

  // Forward arguments (shared by the training and inference executes) and backward's extras.
  memory src, src_h, src_c, bias, dst, dst_h, dst_c, ws;
  memory dsrc, dsrc_h, dsrc_c, dw_ih, dw_hh, dbias, ddst, ddst_h, ddst_c;
  memory scratch_train, scratch_infer, scratch_bwd;
  std::unordered_map<int, memory> fwd_train_args, fwd_infer_args, bwd_args;
};

// The weights in the layouts the primitives want, shared by every shape. `user` views the f32
// ldigo parameters (handle set by set_weights); `fwd` is that same view (f32) or a bf16 copy;
// `bwd` is a copy (f32 ldgoi, or bf16 blocked). Copies are refreshed at the first forward or
// backward after set_weights.
struct RecurrentLayer::Weights {
  memory user_ih, user_hh, fwd_ih, fwd_hh, bwd_ih, bwd_hh;
  dnnl::reorder to_fwd_ih, to_fwd_hh, to_bwd_ih, to_bwd_hh;  // to_fwd_* empty when forward reads in place
  bool fwd_stale = true, bwd_stale = true;
};

namespace {

constexpr auto kDir = dnnl::rnn_direction::unidirectional_left2right;

memory unbound(const memory::desc& md, const dnnl::engine& e) { return memory(md, e, DNNL_MEMORY_NONE); }

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // one shared buffer, sized by us
  return attr;
}

void set(const memory& m, const void* p) { m.set_data_handle(const_cast<void*>(p)); }

// The forward (and, when training, the backward) primitive of one cell, and the weight layouts
// they settled on. The three cells differ only in their descriptor types.
struct Built {
  dnnl::primitive fwd, bwd;
  memory::desc ws, scratch_fwd, scratch_bwd;
  memory::desc fwd_ih, fwd_hh, bwd_ih, bwd_hh;
};

template <class Fwd, class Bwd>
Built make(const dnnl::engine& e, bool training, const typename Fwd::desc& fwd, const typename Bwd::desc& bwd) {
  const auto attr = user_scratchpad();
  typename Fwd::primitive_desc fpd(fwd, attr, e);
  Built b{Fwd(fpd), {}, fpd.workspace_desc(), fpd.scratchpad_desc(), {}, fpd.weights_layer_desc(), fpd.weights_iter_desc(), {}, {}};
  if (training) {
    typename Bwd::primitive_desc bpd(bwd, attr, e, fpd);  // the forward pd is the hint
    b.bwd = Bwd(bpd);
    b.scratch_bwd = bpd.scratchpad_desc();
    b.bwd_ih = bpd.weights_layer_desc();
    b.bwd_hh = bpd.weights_iter_desc();
  }
  return b;
}

// The descriptors of one shape; weights as requested for forward (w) and backward (bw).
struct CellDescs {
  memory::desc src, h, c, dst, dsrc, dstate, ddst, w_ih, w_hh, bw_ih, bw_hh, dw_ih, dw_hh, bias;
};

Built build_cell(Cell cell, const dnnl::engine& e, bool training, const CellDescs& d) {
  const auto fp = training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  const auto bp = dnnl::prop_kind::backward;
  const auto& ds = d.dstate;
  switch (cell) {
    case Cell::lstm:
      return make<dnnl::lstm_forward, dnnl::lstm_backward>(
          e, training, {fp, kDir, d.src, d.h, d.c, d.w_ih, d.w_hh, d.bias, d.dst, d.h, d.c},
          {bp, kDir, d.src, d.h, d.c, d.bw_ih, d.bw_hh, d.bias, d.dst, d.h, d.c, d.dsrc, ds, ds, d.dw_ih, d.dw_hh,
           d.bias, d.ddst, ds, ds});
    case Cell::gru:
      return make<dnnl::lbr_gru_forward, dnnl::lbr_gru_backward>(
          e, training, {fp, kDir, d.src, d.h, d.w_ih, d.w_hh, d.bias, d.dst, d.h},
          {bp, kDir, d.src, d.h, d.bw_ih, d.bw_hh, d.bias, d.dst, d.h, d.dsrc, ds, d.dw_ih, d.dw_hh, d.bias, d.ddst, ds});
    case Cell::rnn_tanh: {
      const auto tanh = dnnl::algorithm::eltwise_tanh;
      return make<dnnl::vanilla_rnn_forward, dnnl::vanilla_rnn_backward>(
          e, training, {fp, tanh, kDir, d.src, d.h, d.w_ih, d.w_hh, d.bias, d.dst, d.h},
          {bp, tanh, kDir, d.src, d.h, d.bw_ih, d.bw_hh, d.bias, d.dst, d.h, d.dsrc, ds, d.dw_ih, d.dw_hh, d.bias,
           d.ddst, ds});
    }
  }
  TBPTT_CHECK(false, "unknown cell");
}

// A copy in `layout` of the weights viewed by `user`, or a check that the existing copy has it.
void ensure_copy(memory& copy, dnnl::reorder& to_copy, const memory& user, const memory::desc& layout,
                 const dnnl::engine& e) {
  if (copy) {
    TBPTT_CHECK(copy.get_desc() == layout, "oneDNN chose different weight layouts for two shapes of one layer");
    return;
  }
  copy = memory(layout, e);
  to_copy = dnnl::reorder(user, copy);
}

}  // namespace

RecurrentLayer::RecurrentLayer(const dnnl::engine& engine, Cell cell, int I, int H, Precision precision)
    : engine_(engine), cell_(cell), I_(I), H_(H), precision_(precision) {}

RecurrentLayer::~RecurrentLayer() = default;
RecurrentLayer::RecurrentLayer(RecurrentLayer&&) noexcept = default;

RecurrentLayer::Shape& RecurrentLayer::shape(int T, int B) {
  auto& slot = shapes_[{T, B}];
  if (slot) return *slot;
  slot = std::make_unique<Shape>();
  Shape& s = *slot;
  const dt data = precision_ == Precision::bf16 ? dt::bf16 : dt::f32;
  const int Gb = bias_gates(cell_);
  s.src_md = memory::desc({T, B, I_}, data, tag::tnc);
  s.dst_md = memory::desc({T, B, H_}, data, tag::tnc);
  s.h_md = memory::desc({1, 1, B, H_}, data, tag::ldnc);
  s.c_md = memory::desc({1, 1, B, H_}, dt::f32, tag::ldnc);
  s.dsrc_md = memory::desc({T, B, I_}, dt::f32, tag::tnc);
  s.ddst_md = memory::desc({T, B, H_}, dt::f32, tag::tnc);
  s.dstate_md = s.c_md;
  const int G = gates(cell_);
  const memory::desc dw_ih_md({1, 1, I_, G, H_}, dt::f32, tag::ldigo), dw_hh_md({1, 1, H_, G, H_}, dt::f32, tag::ldigo);
  const memory::desc bias_md({1, 1, Gb, H_}, dt::f32, tag::ldgo);
  s.src = unbound(s.src_md, engine_);
  s.dst = unbound(s.dst_md, engine_);
  s.dsrc = unbound(s.dsrc_md, engine_);
  s.ddst = unbound(s.ddst_md, engine_);
  for (memory* m : {&s.src_h, &s.dst_h}) *m = unbound(s.h_md, engine_);
  for (memory* m : {&s.src_c, &s.dst_c, &s.dsrc_h, &s.dsrc_c, &s.ddst_h, &s.ddst_c}) *m = unbound(s.c_md, engine_);
  s.dw_ih = unbound(dw_ih_md, engine_);
  s.dw_hh = unbound(dw_hh_md, engine_);
  for (memory* m : {&s.bias, &s.dbias}) *m = unbound(bias_md, engine_);
  return s;
}

void RecurrentLayer::build(Shape& s, bool training) {
  const int G = gates(cell_);
  const bool bf16 = precision_ == Precision::bf16;
  // f32: forward reads plain ldigo in place, backward insists on ldgoi. bf16: oneDNN's choice.
  const memory::desc ldigo_ih({1, 1, I_, G, H_}, dt::f32, tag::ldigo), ldigo_hh({1, 1, H_, G, H_}, dt::f32, tag::ldigo);
  const memory::desc any_ih({1, 1, I_, G, H_}, dt::bf16, tag::any), any_hh({1, 1, H_, G, H_}, dt::bf16, tag::any);
  const memory::desc ldgoi_ih({1, 1, I_, G, H_}, dt::f32, tag::ldgoi), ldgoi_hh({1, 1, H_, G, H_}, dt::f32, tag::ldgoi);
  const CellDescs d{s.src_md,  s.h_md,    s.c_md,
                    s.dst_md,  s.dsrc_md, s.dstate_md,
                    s.ddst_md, bf16 ? any_ih : ldigo_ih, bf16 ? any_hh : ldigo_hh,
                    bf16 ? any_ih : ldgoi_ih, bf16 ? any_hh : ldgoi_hh, s.dw_ih.get_desc(),
                    s.dw_hh.get_desc(), s.bias.get_desc()};
  const Built b = build_cell(cell_, engine_, training, d);

  if (!weights_) {
    weights_ = std::make_unique<Weights>();
    weights_->user_ih = unbound(ldigo_ih, engine_);
    weights_->user_hh = unbound(ldigo_hh, engine_);
    if (!bf16) weights_->fwd_ih = weights_->user_ih, weights_->fwd_hh = weights_->user_hh;
  }
  Weights& w = *weights_;
  if (bf16) {
    ensure_copy(w.fwd_ih, w.to_fwd_ih, w.user_ih, b.fwd_ih, engine_);
    ensure_copy(w.fwd_hh, w.to_fwd_hh, w.user_hh, b.fwd_hh, engine_);
  } else {
    TBPTT_CHECK(b.fwd_ih == ldigo_ih && b.fwd_hh == ldigo_hh, "f32 forward must read the weights as stored");
  }
  if (training) {
    ensure_copy(w.bwd_ih, w.to_bwd_ih, w.user_ih, b.bwd_ih, engine_);
    ensure_copy(w.bwd_hh, w.to_bwd_hh, w.user_hh, b.bwd_hh, engine_);
  }

  const bool lstm = cell_ == Cell::lstm;
  std::unordered_map<int, memory> fwd = {{DNNL_ARG_SRC_LAYER, s.src},     {DNNL_ARG_SRC_ITER, s.src_h},
                                         {DNNL_ARG_WEIGHTS_LAYER, w.fwd_ih}, {DNNL_ARG_WEIGHTS_ITER, w.fwd_hh},
                                         {DNNL_ARG_BIAS, s.bias},          {DNNL_ARG_DST_LAYER, s.dst},
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
  bwd[DNNL_ARG_WEIGHTS_LAYER] = w.bwd_ih;       // ... but the weights in its own layout
  bwd[DNNL_ARG_WEIGHTS_ITER] = w.bwd_hh;
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

size_t RecurrentLayer::weight_copy_bytes(int T, int B) {
  built(T, B, true);
  size_t bytes = weights_->bwd_ih.get_desc().get_size() + weights_->bwd_hh.get_desc().get_size();
  if (weights_->to_fwd_ih) bytes += weights_->fwd_ih.get_desc().get_size() + weights_->fwd_hh.get_desc().get_size();
  return bytes;
}

void RecurrentLayer::set_weights(const float* w_ih, const float* w_hh) {
  w_ih_ = w_ih, w_hh_ = w_hh;
  if (weights_) weights_->fwd_stale = weights_->bwd_stale = true;
}

void RecurrentLayer::refresh_weights(bool for_backward, dnnl::stream& strm) {
  TBPTT_CHECK(w_ih_ && w_hh_, "set_weights must come before the first pass");
  Weights& w = *weights_;
  bool& stale = for_backward ? w.bwd_stale : w.fwd_stale;
  if (!stale) return;
  set(w.user_ih, w_ih_), set(w.user_hh, w_hh_);
  if (for_backward) {
    w.to_bwd_ih.execute(strm, w.user_ih, w.bwd_ih);
    w.to_bwd_hh.execute(strm, w.user_hh, w.bwd_hh);
  } else if (w.to_fwd_ih) {
    w.to_fwd_ih.execute(strm, w.user_ih, w.fwd_ih);
    w.to_fwd_hh.execute(strm, w.user_hh, w.fwd_hh);
  }
  stale = false;
}

void RecurrentLayer::forward(void* dst, StatePtr dst_state, const void* src, StatePtr src_state, const float* bias,
                             void* workspace, int T, int B, dnnl::stream& strm, Scratchpad& scratch) {
  const bool training = workspace != nullptr;
  Shape& s = built(T, B, training);
  refresh_weights(false, strm);
  set(s.src, src), set(s.src_h, src_state.h), set(s.bias, bias), set(s.dst, dst), set(s.dst_h, dst_state.h);
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

void RecurrentLayer::backward(float* dsrc, StatePtr dsrc_state, float* dw_ih, float* dw_hh, float* dbias,
                              const float* ddst, StatePtr ddst_state, const void* src, StatePtr src_state,
                              const void* dst, StatePtr dst_state, const float* bias, void* workspace, int T, int B,
                              dnnl::stream& strm, Scratchpad& scratch) {
  Shape& s = built(T, B, true);
  refresh_weights(true, strm);
  set(s.src, src), set(s.src_h, src_state.h), set(s.bias, bias), set(s.dst, dst), set(s.dst_h, dst_state.h);
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
