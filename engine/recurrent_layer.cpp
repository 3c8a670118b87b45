#include "engine/recurrent_layer.h"

#include <unordered_map>

#include "common/check.h"
#include "engine/bound_primitive.h"

namespace tbptt::engine {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// Everything one (T, B) needs: primitives built on first use, and one memory object per
// argument whose data handle is pointed at the caller's buffers right before each execute.
struct RecurrentLayer::Shape {
  memory::desc src_md, dst_md, h_md, c_md, dsrc_md, ddst_md, dstate_md;
  BoundPrimitive fwd_train, fwd_infer, bwd;  // empty until first needed

  // Forward arguments (shared by the training and inference executes) and backward's extras.
  memory src, src_h, src_c, bias, dst, dst_h, dst_c, ws;
  memory dsrc, dsrc_h, dsrc_c, dw_ih, dw_hh, dbias, ddst, ddst_h, ddst_c;
  memory scratch_train, scratch_infer, scratch_bwd;
  // The weight copies each primitive reads (ih, hh); none for an f32 forward, which reads in place.
  WeightCopies::Copy *train_w[2] = {}, *infer_w[2] = {}, *bwd_w[2] = {};

  // Points the forward arguments at this pass's buffers (backward reads them too).
  void bind_forward(const void* x, StatePtr x_state, const float* b, const void* y, StatePtr y_state, bool lstm) {
    set_handle(src, x), set_handle(src_h, x_state.h), set_handle(bias, b);
    set_handle(dst, y), set_handle(dst_h, y_state.h);
    if (lstm) set_handle(src_c, x_state.c), set_handle(dst_c, y_state.c);
  }
};

namespace {

constexpr auto kDir = dnnl::rnn_direction::unidirectional_left2right;

memory unbound(const memory::desc& md, const dnnl::engine& e) { return memory(md, e, DNNL_MEMORY_NONE); }

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // one shared buffer, sized by us
  return attr;
}

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

}  // namespace

RecurrentLayer::RecurrentLayer(const dnnl::engine& engine, Cell cell, int I, int H, Precision precision,
                               LstmKernel kernel)
    : engine_(engine), cell_(cell), I_(I), H_(H), precision_(precision), copies_(engine) {
  if (cell == Cell::lstm && kernel == LstmKernel::gemm) gemm_ = std::make_unique<GemmLstm>(engine, I, H, precision);
}

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

  if (!user_ih_) user_ih_ = unbound(ldigo_ih, engine_), user_hh_ = unbound(ldigo_hh, engine_);
  WeightCopies::Copy* fwd_w[2] = {bf16 ? &copies_.of(user_ih_, b.fwd_ih) : nullptr,
                                  bf16 ? &copies_.of(user_hh_, b.fwd_hh) : nullptr};
  if (!bf16) TBPTT_CHECK(b.fwd_ih == ldigo_ih && b.fwd_hh == ldigo_hh, "f32 forward must read the weights as stored");
  auto weights = [&](WeightCopies::Copy* copy, const memory& user) { return copy ? copy->mem : user; };

  const bool lstm = cell_ == Cell::lstm;
  std::unordered_map<int, memory> fwd = {{DNNL_ARG_SRC_LAYER, s.src},
                                         {DNNL_ARG_SRC_ITER, s.src_h},
                                         {DNNL_ARG_WEIGHTS_LAYER, weights(fwd_w[0], user_ih_)},
                                         {DNNL_ARG_WEIGHTS_ITER, weights(fwd_w[1], user_hh_)},
                                         {DNNL_ARG_BIAS, s.bias},          {DNNL_ARG_DST_LAYER, s.dst},
                                         {DNNL_ARG_DST_ITER, s.dst_h}};
  if (lstm) fwd.insert({{DNNL_ARG_SRC_ITER_C, s.src_c}, {DNNL_ARG_DST_ITER_C, s.dst_c}});
  if (!training) {
    s.scratch_infer = unbound(b.scratch_fwd, engine_);
    fwd[DNNL_ARG_SCRATCHPAD] = s.scratch_infer;
    s.fwd_infer = BoundPrimitive(b.fwd, fwd);
    s.infer_w[0] = fwd_w[0], s.infer_w[1] = fwd_w[1];
    return;
  }
  s.ws = unbound(b.ws, engine_);
  s.scratch_train = unbound(b.scratch_fwd, engine_);
  s.scratch_bwd = unbound(b.scratch_bwd, engine_);
  fwd[DNNL_ARG_WORKSPACE] = s.ws;
  std::unordered_map<int, memory> bwd = fwd;  // backward reads every forward argument ...
  fwd[DNNL_ARG_SCRATCHPAD] = s.scratch_train;
  s.bwd_w[0] = &copies_.of(user_ih_, b.bwd_ih), s.bwd_w[1] = &copies_.of(user_hh_, b.bwd_hh);
  bwd[DNNL_ARG_WEIGHTS_LAYER] = s.bwd_w[0]->mem;  // ... but the weights in its own layout
  bwd[DNNL_ARG_WEIGHTS_ITER] = s.bwd_w[1]->mem;
  bwd[DNNL_ARG_SCRATCHPAD] = s.scratch_bwd;
  bwd.insert({{DNNL_ARG_DIFF_SRC_LAYER, s.dsrc},      {DNNL_ARG_DIFF_SRC_ITER, s.dsrc_h},
              {DNNL_ARG_DIFF_WEIGHTS_LAYER, s.dw_ih}, {DNNL_ARG_DIFF_WEIGHTS_ITER, s.dw_hh},
              {DNNL_ARG_DIFF_BIAS, s.dbias},          {DNNL_ARG_DIFF_DST_LAYER, s.ddst},
              {DNNL_ARG_DIFF_DST_ITER, s.ddst_h}});
  if (lstm) bwd.insert({{DNNL_ARG_DIFF_SRC_ITER_C, s.dsrc_c}, {DNNL_ARG_DIFF_DST_ITER_C, s.ddst_c}});
  s.fwd_train = BoundPrimitive(b.fwd, fwd);
  s.train_w[0] = fwd_w[0], s.train_w[1] = fwd_w[1];
  s.bwd = BoundPrimitive(b.bwd, bwd);
}

RecurrentLayer::Shape& RecurrentLayer::built(int T, int B, bool training) {
  Shape& s = shape(T, B);
  if (training && !s.fwd_train) build(s, true);
  if (!training && !s.fwd_infer) build(s, false);
  return s;
}

size_t RecurrentLayer::workspace_bytes(int T, int B) {
  if (gemm_) return gemm_->workspace_bytes(T, B);
  return built(T, B, true).ws.get_desc().get_size();
}

size_t RecurrentLayer::scratchpad_bytes(int T, int B, bool training) {
  if (gemm_) return gemm_->scratchpad_bytes(T, B, training);
  Shape& s = built(T, B, training);
  if (!training) return s.scratch_infer.get_desc().get_size();
  return std::max(s.scratch_train.get_desc().get_size(), s.scratch_bwd.get_desc().get_size());
}

size_t RecurrentLayer::weight_copy_bytes(int T, int B) {
  if (gemm_) return gemm_->weight_copy_bytes(B);
  built(T, B, true);
  return copies_.bytes();
}

void RecurrentLayer::set_weights(const float* w_ih, const float* w_hh) {
  if (gemm_) return gemm_->set_weights(w_ih, w_hh);
  w_ih_ = w_ih, w_hh_ = w_hh;
  copies_.set_stale();
}

void RecurrentLayer::refresh(WeightCopies::Copy* const (&copies)[2], dnnl::stream& strm) {
  TBPTT_CHECK(w_ih_ && w_hh_, "set_weights must come before the first pass");
  set_handle(user_ih_, w_ih_), set_handle(user_hh_, w_hh_);
  for (WeightCopies::Copy* c : copies) WeightCopies::refresh(c, strm);
}

void RecurrentLayer::forward(void* dst, StatePtr dst_state, const void* src, StatePtr src_state, const float* bias,
                             void* workspace, int T, int B, dnnl::stream& strm, Scratchpad& scratch,
                             const TokenRows& tokens) {
  if (gemm_)
    return gemm_->forward(dst, dst_state.h, dst_state.c, src, src_state.h, src_state.c, bias, workspace, T, B, strm,
                          scratch, tokens);
  TBPTT_CHECK(!tokens.ids, "only an LSTM on the GEMM cell takes a folded token input");
  const bool training = workspace != nullptr;
  Shape& s = built(T, B, training);
  refresh(training ? s.train_w : s.infer_w, strm);
  s.bind_forward(src, src_state, bias, dst, dst_state, cell_ == Cell::lstm);
  memory& scratch_mem = training ? s.scratch_train : s.scratch_infer;
  set_handle(scratch_mem, scratch.get(scratch_mem.get_desc().get_size()));
  if (training) {
    set_handle(s.ws, workspace);
    s.fwd_train.execute(strm);
  } else {
    s.fwd_infer.execute(strm);
  }
}

void RecurrentLayer::backward(float* dsrc, StatePtr dsrc_state, float* dw_ih, float* dw_hh, float* dbias,
                              const float* ddst, StatePtr ddst_state, const void* src, StatePtr src_state,
                              const void* dst, StatePtr dst_state, const float* bias, void* workspace, int T, int B,
                              dnnl::stream& strm, Scratchpad& scratch, const TokenRows& tokens) {
  if (gemm_)
    return gemm_->backward(dsrc, static_cast<float*>(dsrc_state.h), dsrc_state.c, dw_ih, dw_hh, dbias, ddst,
                           static_cast<const float*>(ddst_state.h), ddst_state.c, src, src_state.h, src_state.c,
                           dst, workspace, T, B, strm, scratch, tokens);
  TBPTT_CHECK(!tokens.ids, "only an LSTM on the GEMM cell takes a folded token input");
  Shape& s = built(T, B, true);
  refresh(s.bwd_w, strm);
  s.bind_forward(src, src_state, bias, dst, dst_state, cell_ == Cell::lstm);
  set_handle(s.ws, workspace);
  set_handle(s.dsrc, dsrc), set_handle(s.dsrc_h, dsrc_state.h), set_handle(s.dw_ih, dw_ih);
  set_handle(s.dw_hh, dw_hh), set_handle(s.dbias, dbias), set_handle(s.ddst, ddst), set_handle(s.ddst_h, ddst_state.h);
  if (cell_ == Cell::lstm) set_handle(s.dsrc_c, dsrc_state.c), set_handle(s.ddst_c, ddst_state.c);
  set_handle(s.scratch_bwd, scratch.get(s.scratch_bwd.get_desc().get_size()));
  s.bwd.execute(strm);
}

}  // namespace tbptt::engine
