#include "engine/model.h"

#include <omp.h>

#include <algorithm>

#include "common/check.h"
#include "common/error.h"
#include "common/stopwatch.h"
#include "engine/denormals.h"
#include "engine/parallel.h"
#include "engine/sgemm.h"

namespace tbptt::engine {

RecurrentState::RecurrentState(int layers, int batch, int hidden, bool with_c)
    : L(layers), B(batch), H(hidden), lstm(with_c) {
  resize(batch);
}

void RecurrentState::zero() {
  std::fill(h.begin(), h.end(), 0.0f);
  std::fill(c.begin(), c.end(), 0.0f);
}

void RecurrentState::resize(int batch) {
  B = batch;
  const size_t n = static_cast<size_t>(L) * B * H;
  h.resize(n);  // vectors keep their capacity: switching between train and eval B allocates once
  if (lstm) c.resize(n);
}

Model::Model(const ModelConfig& config, uint64_t seed, std::span<float> storage)
    : config_(config), layout_(config),
      embedding_at_(config.token_input() ? layout_.slot("embedding.weight").offset : 0),
      head_w_at_(layout_.slot("head.weight").offset), head_b_at_(layout_.slot("head.bias").offset),
      params_(place(storage, owned_params_, layout_.size())), bf16_(config.precision == Precision::bf16),
      act_size_(bf16_ ? sizeof(bfloat16) : sizeof(float)), dnnl_engine_(dnnl::engine::kind::cpu, 0),
      stream_(dnnl_engine_), head_(dnnl_engine_, config.precision, config.hidden, config.outputs) {
  flush_denormals();
  layout_.initialize(params(), seed);
  for (int l = 0; l < config.layers; ++l)
    layers_.emplace_back(dnnl_engine_, config.cell, config.layer_input(l), config.hidden, config.precision,
                         config.lstm_kernel);
  acts_.resize(config.layers + 1);
  dacts_.resize(config.layers + 1);
  const bool lstm = config.cell == Cell::lstm;
  for (RecurrentState* s : {&carry_, &final_, &zero_, &dcarry_, &dstate0_})
    *s = RecurrentState(config.layers, 0, config.hidden, lstm);
}

RecurrentState Model::make_state(int B) const {
  return RecurrentState(config_.layers, B, config_.hidden, config_.cell == Cell::lstm);
}

void Model::check(const WindowBatch& w) const {
  TBPTT_CHECK(w.T >= 1 && w.B >= 1, "a window needs T >= 1 steps and B >= 1 rows");
  TBPTT_CHECK(0 <= w.new_from && w.new_from < w.T, "new_from must lie in [0, T)");
  TBPTT_CHECK(0 <= w.carry_from && w.carry_from <= w.T, "carry_from must lie in [0, T]");
  TBPTT_CHECK(config_.token_input() ? w.tokens != nullptr : w.features != nullptr,
              "the window's inputs do not match the model (tokens vs dense features)");
  TBPTT_CHECK(config_.loss == Loss::cross_entropy ? w.target_ids != nullptr : w.target_values != nullptr,
              "the window's targets do not match the loss (class ids vs values)");
  TBPTT_CHECK(w.has_target != nullptr, "the window has no has_target mask");
}

void Model::reserve(int T, int B, bool fold) {
  const size_t TB = static_cast<size_t>(T) * B;
  const int H = config_.hidden, L = config_.layers;
  if (fold) {
    const size_t V = config_.vocab, E = config_.embedding, G = gates(config_.cell) * H;
    table_.grow(V * G), dtable_.grow(V * G);
    if (bf16_) fold_operands_.grow(V * E + E * G);
  }
  for (int l = fold ? 1 : 0; l <= L; ++l) {  // a folded embedding has no X0
    const size_t width = l == 0 ? config_.input_width() : H;
    // An f32 model reads dense inputs from the caller's buffer; a bf16 model rounds them into X0.
    if (l > 0 || config_.token_input() || bf16_) acts_[l].grow(TB * width * act_size_);
    dacts_[l].grow(TB * width);
  }
  logits_.grow(TB * config_.outputs);
  if (bf16_) dlogits16_.grow(TB * config_.outputs);
  loss_partials_.grow(static_cast<size_t>(omp_get_max_threads()) * config_.outputs);
  if (zero_.B != B) {
    for (RecurrentState* s : {&carry_, &final_, &zero_, &dcarry_, &dstate0_}) s->resize(B);
    zero_.zero();
    if (bf16_) h16_.grow(3 * static_cast<size_t>(L) * B * H);
  }
}

// Once per pass, before any layer runs: the weights may have changed since the last pass.
void Model::begin_pass(const RecurrentState& state) {
  const float* P = params_.data();
  for (int l = 0; l < config_.layers; ++l)
    layers_[l].set_weights(P + layout_.weight_ih(l).offset, P + layout_.weight_hh(l).offset);
  head_.set_weights(P + head_w_at_);
  if (bf16_) to_bf16(h16_.data(), state.h.data(), static_cast<int64_t>(state.h.size()));  // slot kInitial
}

void Model::end_pass(RecurrentState& state, const RecurrentState& from, Slot slot) {
  state.c = from.c;
  if (!bf16_) {
    state.h = from.h;
    return;
  }
  const bfloat16* h = h16_.data() + slot * state.h.size();
  for (size_t i = 0; i < state.h.size(); ++i) state.h[i] = to_f32(h[i]);
}

StatePtr Model::state_at(RecurrentState& s, Slot slot, int l) {
  StatePtr p = s.at(l);
  if (bf16_) p.h = h16_.data() + (static_cast<size_t>(slot) * config_.layers + l) * s.B * s.H;
  return p;
}

const void* Model::input(const WindowBatch& w, bool fold) {
  const int64_t TB = static_cast<int64_t>(w.T) * w.B;
  if (!config_.token_input()) {
    if (!bf16_) return w.features;
    to_bf16(reinterpret_cast<bfloat16*>(X(0)), w.features, TB * config_.input);
    return X(0);
  }
  const float* emb = params_.data() + embedding_at_;
  const int V = config_.vocab, E = config_.embedding, G = gates(config_.cell) * config_.hidden;
  if (fold) {  // table = embedding W_ih in f32 (the layer adds it to f32 Z)
    check_tokens(w.tokens, w.T * w.B, V);
    const FoldOperands op = fold_operands(true);
    sgemm('N', 'N', V, G, E, op.embedding, E, op.w_ih, G, 0.0f, table_.data(), G);
    return nullptr;
  }
  if (bf16_) {
    embedding_forward(reinterpret_cast<bfloat16*>(X(0)), w.tokens, emb, w.T * w.B, V, E);
  } else {
    embedding_forward(reinterpret_cast<float*>(X(0)), w.tokens, emb, w.T * w.B, V, E);
  }
  return X(0);
}

TokenRows Model::token_rows(const WindowBatch& w, bool fold, int t0) {
  if (!fold) return {};
  return {w.tokens + static_cast<size_t>(t0) * w.B, table_.data(), dtable_.data()};
}

// A bf16 model's layer 0 would multiply the embedding rows and W_ih rounded to bf16 (products
// exact in f32, sums in f32): its folded table and gradients use the same rounded values, so that
// folding changes nothing but the order of the sums in either precision.
Model::FoldOperands Model::fold_operands(bool round) {
  const int V = config_.vocab, E = config_.embedding, G = gates(config_.cell) * config_.hidden;
  const float* emb = params_.data() + embedding_at_;
  const float* w_ih = params_.data() + layout_.weight_ih(0).offset;
  if (!bf16_) return {emb, w_ih};
  float* emb16 = fold_operands_.data();
  float* w_ih16 = emb16 + static_cast<size_t>(V) * E;
  if (round) {  // once per pass, with the table
    for (size_t i = 0; i < static_cast<size_t>(V) * E; ++i) emb16[i] = to_f32(to_bf16(emb[i]));
    for (size_t i = 0; i < static_cast<size_t>(E) * G; ++i) w_ih16[i] = to_f32(to_bf16(w_ih[i]));
  }
  return {emb16, w_ih16};
}

void Model::fold_backward(float* grads) {
  const int V = config_.vocab, E = config_.embedding, G = gates(config_.cell) * config_.hidden;
  const FoldOperands op = fold_operands(false);
  float* dw_ih = grads + layout_.weight_ih(0).offset;
  sgemm('T', 'N', E, G, V, op.embedding, E, dtable_.data(), G, 1.0f, dw_ih, G);           // dW_ih += emb^T dtable
  sgemm('N', 'T', V, E, G, dtable_.data(), G, op.w_ih, G, 1.0f, grads + embedding_at_, E);  // d emb += dtable W_ih^T
}

int Model::head_from(const WindowBatch& w) const {
  return config_.head == Head::last_step ? w.T - 1 : w.new_from;
}

// Head and loss on steps [from, T): one matmul over all (T - from) * B positions. With `grads`,
// the loss writes the head bias gradient and dlogits (in place, or in bf16 for a bf16 model).
LossSums Model::head_loss(const WindowBatch& w, int from, bool grad, float* grads) {
  const int H = config_.hidden, N = config_.outputs, M = (w.T - from) * w.B;
  const size_t first = static_cast<size_t>(from) * w.B;
  const float* b = params_.data() + head_b_at_;
  head_.forward(logits_.data(), X(config_.layers) + first * H * act_size_, M, stream_, scratch_);
  LossGrad g{grads ? grads + head_b_at_ : nullptr, loss_partials_.data(),
             bf16_ ? dlogits16_.data() : nullptr};
  const LossGrad* gp = grad ? &g : nullptr;
  if (config_.loss == Loss::cross_entropy)
    return cross_entropy(logits_.data(), b, w.target_ids + first, w.has_target + first, M, N, gp);
  return mean_squared_error(logits_.data(), b, w.target_values + first * N, w.has_target + first, M, N, gp);
}

LossSums Model::forward_backward(std::span<float> grads, RecurrentState& state, const WindowBatch& w,
                                 PassTimes* times) {
  check(w);
  TBPTT_CHECK(grads.size() == layout_.size(), "the gradient buffer must match the parameter layout");
  TBPTT_CHECK(state.B == w.B, "the state's batch differs from the window's");
  const int T = w.T, B = w.B, L = config_.layers, H = config_.hidden;
  const bool fold = config_.folds_embedding(T, B);
  reserve(T, B, fold);
  const auto t_start = Clock::now();
  begin_pass(state);

  // Chunks: cut at p when the next window starts strictly inside this one.
  const int p = w.carry_from;
  const bool split = 0 < p && p < T;
  const int chunks = split ? 2 : 1;
  const int t0[2] = {0, p}, len[2] = {split ? p : T, T - p};
  // Each (layer, chunk) gets its own slice of one workspace, handed from forward to backward.
  size_t ws_bytes = 0;
  for (int l = 0; l < L; ++l)
    for (int c = 0; c < chunks; ++c) ws_bytes += layers_[l].workspace_bytes(len[c], B);
  workspace_.grow(ws_bytes);
  void* ws[kMaxLayers][2];
  TBPTT_CHECK(L <= kMaxLayers, "too many layers");
  for (size_t l = 0, offset = 0; l < static_cast<size_t>(L); ++l)
    for (int c = 0; c < chunks; ++c) {
      ws[l][c] = workspace_.data() + offset;
      offset += layers_[l].workspace_bytes(len[c], B);
    }
  const float* P = params_.data();
  auto src_state = [&](int l, int c) { return c == 0 ? state_at(state, kInitial, l) : state_at(carry_, kCarry, l); };
  auto dst_state = [&](int l, int c) {
    return split && c == 0 ? state_at(carry_, kCarry, l) : state_at(final_, kFinal, l);
  };
  // Byte offset of step t in a [T][B][width] activation.
  auto at_step = [&](int t, int width) { return static_cast<size_t>(t) * B * width * act_size_; };

  // 1. Input stage, 2. recurrent stack (layer by layer, chunk by chunk). A folded embedding has
  // no X0: layer 0 reads its rows of the table.
  const char* x0 = static_cast<const char*>(input(w, fold));
  auto x_at = [&](int l, int t) -> const char* {  // layer l's input from step t
    if (l > 0) return X(l) + at_step(t, H);
    return fold ? nullptr : x0 + at_step(t, config_.input_width());
  };
  for (int l = 0; l < L; ++l) {
    for (int c = 0; c < chunks; ++c) {
      layers_[l].forward(X(l + 1) + at_step(t0[c], H), dst_state(l, c), x_at(l, t0[c]), src_state(l, c),
                         P + layout_.bias(l).offset, ws[l][c], len[c], B, stream_, scratch_,
                         token_rows(w, fold && l == 0, t0[c]));
    }
  }
  // 3. Head and loss on the steps that carry it; the loss writes dlogits and the head bias gradient.
  float* G = grads.data();
  const int from = head_from(w);
  const LossSums sums = head_loss(w, from, true, G);
  if (times) times->forward = seconds_since(t_start);

  // 4. Backward: head, then chunks last to first, layers top to bottom, then the embedding.
  const auto t_back = Clock::now();
  // oneDNN's RNN backward and the embedding's scatter accumulate into their gradients: zero them
  // once per update, never per call. The head (last in the layout) writes its gradients.
  const auto n = static_cast<int64_t>(head_w_at_);
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) G[i] = 0.0f;
  float* dtop = dX(L);
  std::fill_n(dtop, static_cast<size_t>(from) * B * H, 0.0f);  // steps without loss send no gradient
  const void* dlogits = bf16_ ? static_cast<const void*>(dlogits16_.data()) : logits_.data();
  head_.backward(dtop + static_cast<size_t>(from) * B * H, G + head_w_at_, dlogits, X(L) + at_step(from, H),
                 (T - from) * B, stream_, scratch_);
  if (fold) std::fill_n(dtable_.data(), static_cast<size_t>(config_.vocab) * gates(config_.cell) * H, 0.0f);
  for (int c = chunks - 1; c >= 0; --c) {
    for (int l = L - 1; l >= 0; --l) {
      const int I = config_.layer_input(l);
      const size_t d_in = static_cast<size_t>(t0[c]) * B * I, d_out = static_cast<size_t>(t0[c]) * B * H;
      const StatePtr ddst = c == chunks - 1 ? zero_.at(l) : dcarry_.at(l);  // the final state has no loss
      const StatePtr dsrc = c == 0 ? dstate0_.at(l) : dcarry_.at(l);
      const TokenRows rows = token_rows(w, fold && l == 0, t0[c]);
      layers_[l].backward(rows.ids ? nullptr : dX(l) + d_in, dsrc, G + layout_.weight_ih(l).offset,
                          G + layout_.weight_hh(l).offset, G + layout_.bias(l).offset, dX(l + 1) + d_out, ddst,
                          x_at(l, t0[c]), src_state(l, c), X(l + 1) + at_step(t0[c], H), dst_state(l, c),
                          P + layout_.bias(l).offset, ws[l][c], len[c], B, stream_, scratch_, rows);
    }
  }
  if (fold)
    fold_backward(G);
  else if (config_.token_input())
    embedding_backward(G + embedding_at_, dX(0), w.tokens, T * B, config_.embedding);
  if (times) times->backward = seconds_since(t_back);

  // 5. Carry: the next window starts from the state at step p (a copy, no gradient).
  if (split) {
    end_pass(state, carry_, kCarry);
  } else if (p == T) {
    end_pass(state, final_, kFinal);
  }
  return sums;
}

LossSums Model::forward(RecurrentState& state, const WindowBatch& w) {
  check(w);
  TBPTT_CHECK(state.B == w.B, "the state's batch differs from the window's");
  const int L = config_.layers;
  const bool fold = config_.folds_embedding(w.T, w.B);
  reserve(w.T, w.B, fold);
  begin_pass(state);
  const float* P = params_.data();
  const char* x0 = static_cast<const char*>(input(w, fold));
  for (int l = 0; l < L; ++l) {
    layers_[l].forward(X(l + 1), state_at(final_, kFinal, l), l == 0 ? x0 : X(l), state_at(state, kInitial, l),
                       P + layout_.bias(l).offset, nullptr, w.T, w.B, stream_, scratch_, token_rows(w, fold && l == 0, 0));
  }
  end_pass(state, final_, kFinal);
  return head_loss(w, head_from(w), false, nullptr);
}

double update_flops(const ModelConfig& config, int T, int new_steps, int B) {
  const double TB = static_cast<double>(T) * B;
  double flops = 0;
  for (int l = 0; l < config.layers; ++l)
    flops += 3 * 2 * TB * gates(config.cell) * config.hidden * (config.layer_input(l) + config.hidden);
  const int head_steps = config.head == Head::last_step ? 1 : new_steps;
  return flops + 3 * 2 * static_cast<double>(head_steps) * B * config.hidden * config.outputs;
}

}  // namespace tbptt::engine
