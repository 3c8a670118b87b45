#include "engine/model.h"

#include <algorithm>
#include <chrono>

#include "common/check.h"
#include "common/error.h"

namespace tbptt::engine {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

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

Model::Model(const ModelConfig& config, uint64_t seed)
    : config_(config), layout_(config), params_(layout_.size()), dnnl_engine_(dnnl::engine::kind::cpu, 0),
      stream_(dnnl_engine_) {
  layout_.initialize(params(), seed);
  for (int l = 0; l < config.layers; ++l)
    layers_.emplace_back(dnnl_engine_, config.cell, config.layer_input(l), config.hidden);
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

void Model::reserve(int T, int B) {
  const size_t TB = static_cast<size_t>(T) * B;
  const int H = config_.hidden, L = config_.layers;
  for (int l = 0; l <= L; ++l) {
    const size_t width = l == 0 ? config_.input_width() : H;
    if (l > 0 || config_.token_input()) acts_[l].grow(TB * width);  // dense X0 is the caller's buffer
    dacts_[l].grow(TB * width);
  }
  logits_.grow(TB * config_.outputs);
  if (zero_.B != B) {
    for (RecurrentState* s : {&carry_, &final_, &zero_, &dcarry_, &dstate0_}) s->resize(B);
    zero_.zero();
  }
}

const float* Model::input(const WindowBatch& w) {
  if (!config_.token_input()) return w.features;
  const float* emb = params_.data() + layout_.slot("embedding.weight").offset;
  embedding_forward(X(0), w.tokens, emb, w.T * w.B, config_.vocab, config_.embedding);
  return X(0);
}

int Model::head_from(const WindowBatch& w) const {
  return config_.head == Head::last_step ? w.T - 1 : w.new_from;
}

// Head and loss on steps [from, T): one matmul over all (T - from) * B positions.
LossSums Model::head_loss(const WindowBatch& w, int from, bool grad) {
  const int H = config_.hidden, N = config_.outputs, M = (w.T - from) * w.B;
  const size_t first = static_cast<size_t>(from) * w.B;
  const float* W = params_.data() + layout_.slot("head.weight").offset;
  const float* b = params_.data() + layout_.slot("head.bias").offset;
  linear_forward(logits_.data(), X(config_.layers) + first * H, W, M, H, N);
  if (config_.loss == Loss::cross_entropy)
    return cross_entropy(logits_.data(), b, w.target_ids + first, w.has_target + first, M, N, grad);
  return mean_squared_error(logits_.data(), b, w.target_values + first * N, w.has_target + first, M, N, grad);
}

LossSums Model::forward_backward(std::span<float> grads, RecurrentState& state, const WindowBatch& w,
                                 PassTimes* times) {
  check(w);
  TBPTT_CHECK(grads.size() == layout_.size(), "the gradient buffer must match the parameter layout");
  TBPTT_CHECK(state.B == w.B, "the state's batch differs from the window's");
  const int T = w.T, B = w.B, L = config_.layers, H = config_.hidden;
  reserve(T, B);
  const auto t_start = std::chrono::steady_clock::now();

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
  auto src_state = [&](int l, int c) { return c == 0 ? state.at(l) : carry_.at(l); };
  auto dst_state = [&](int l, int c) { return split && c == 0 ? carry_.at(l) : final_.at(l); };

  // 1. Input stage, 2. recurrent stack (layer by layer, chunk by chunk).
  const float* x0 = input(w);
  for (int l = 0; l < L; ++l) {
    const int I = config_.layer_input(l);
    const float* src = l == 0 ? x0 : X(l);
    for (int c = 0; c < chunks; ++c) {
      layers_[l].forward(X(l + 1) + static_cast<size_t>(t0[c]) * B * H, dst_state(l, c),
                         src + static_cast<size_t>(t0[c]) * B * I, src_state(l, c), P + layout_.weight_ih(l).offset,
                         P + layout_.weight_hh(l).offset, P + layout_.bias(l).offset, ws[l][c], len[c], B,
                         stream_, scratch_);
    }
  }
  // 3. Head and loss on the steps that carry it; dlogits replace the logits.
  const int from = head_from(w);
  const LossSums sums = head_loss(w, from, true);
  if (times) times->forward = seconds_since(t_start);

  // 4. Backward: head, then chunks last to first, layers top to bottom, then the embedding.
  const auto t_back = std::chrono::steady_clock::now();
  // oneDNN's RNN backward and the embedding's scatter accumulate into their gradients: zero them
  // once per update, never per call. The head (last in the layout) writes its gradients.
  float* G = grads.data();
  const TensorSlot& head_w = layout_.slot("head.weight");
  const auto n = static_cast<int64_t>(head_w.offset);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) G[i] = 0.0f;
  float* dtop = dX(L);
  std::fill_n(dtop, static_cast<size_t>(from) * B * H, 0.0f);  // steps without loss send no gradient
  linear_backward(dtop + static_cast<size_t>(from) * B * H, G + head_w.offset, G + layout_.slot("head.bias").offset,
                  logits_.data(), X(L) + static_cast<size_t>(from) * B * H, P + head_w.offset, (T - from) * B, H,
                  config_.outputs);
  for (int l = 0; l < L; ++l)
    layers_[l].prepare_backward(P + layout_.weight_ih(l).offset, P + layout_.weight_hh(l).offset, stream_);
  for (int c = chunks - 1; c >= 0; --c) {
    for (int l = L - 1; l >= 0; --l) {
      const int I = config_.layer_input(l);
      const size_t in_off = static_cast<size_t>(t0[c]) * B * I, out_off = static_cast<size_t>(t0[c]) * B * H;
      const float* src = l == 0 ? x0 : X(l);
      const StatePtr ddst = c == chunks - 1 ? zero_.at(l) : dcarry_.at(l);  // the final state has no loss
      const StatePtr dsrc = c == 0 ? dstate0_.at(l) : dcarry_.at(l);
      layers_[l].backward(dX(l) + in_off, dsrc, G + layout_.weight_ih(l).offset, G + layout_.weight_hh(l).offset,
                          G + layout_.bias(l).offset, dX(l + 1) + out_off, ddst, src + in_off, src_state(l, c),
                          X(l + 1) + out_off, dst_state(l, c), P + layout_.bias(l).offset, ws[l][c], len[c],
                          B, stream_, scratch_);
    }
  }
  if (config_.token_input())
    embedding_backward(G + layout_.slot("embedding.weight").offset, dX(0), w.tokens, T * B, config_.embedding);
  if (times) times->backward = seconds_since(t_back);

  // 5. Carry: the next window starts from the state at step p (a copy, no gradient).
  if (split) {
    state.h = carry_.h, state.c = carry_.c;
  } else if (p == T) {
    state.h = final_.h, state.c = final_.c;
  }
  return sums;
}

LossSums Model::forward(RecurrentState& state, const WindowBatch& w) {
  check(w);
  TBPTT_CHECK(state.B == w.B, "the state's batch differs from the window's");
  const int L = config_.layers;
  reserve(w.T, w.B);
  const float* P = params_.data();
  const float* x0 = input(w);
  for (int l = 0; l < L; ++l) {
    layers_[l].forward(X(l + 1), final_.at(l), l == 0 ? x0 : X(l), state.at(l), P + layout_.weight_ih(l).offset,
                       P + layout_.weight_hh(l).offset, P + layout_.bias(l).offset, nullptr, w.T, w.B, stream_,
                       scratch_);
  }
  state.h = final_.h, state.c = final_.c;
  return head_loss(w, head_from(w), false);
}

MemoryEstimate estimate_memory(const ModelConfig& config, int T, int B) {
  config.validate();
  MemoryEstimate m;
  m.parameters = ParamLayout(config).size() * sizeof(float);
  const size_t TB = static_cast<size_t>(T) * B;
  size_t floats = TB * config.outputs;  // logits
  for (int l = 0; l <= config.layers; ++l) floats += 2 * TB * (l == 0 ? config.input_width() : config.hidden);
  floats += 5 * static_cast<size_t>(config.layers) * B * config.hidden * (config.cell == Cell::lstm ? 2 : 1);
  m.activations = floats * sizeof(float);
  const dnnl::engine cpu(dnnl::engine::kind::cpu, 0);
  for (int l = 0; l < config.layers; ++l) {
    RecurrentLayer layer(cpu, config.cell, config.layer_input(l), config.hidden);
    m.workspace += layer.workspace_bytes(T, B);
    m.scratchpad = std::max(m.scratchpad, layer.scratchpad_bytes(T, B));
  }
  return m;
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
