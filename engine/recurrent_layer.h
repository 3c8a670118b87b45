#pragma once
// One recurrent layer (LSTM, linear-before-reset GRU, or tanh RNN) on oneDNN's RNN primitives.
//
// oneDNN wants a separate primitive per shape, and a separate primitive per layer when the input
// width differs from H, so tbptt runs one primitive per layer and caches it per (T, B). A window
// may be cut into chunks (to read out the state the next window starts from); each chunk is one
// execute, its final state the next chunk's initial state, which is exactly one long forward.
//
// Buffers are time-major, as oneDNN's `tnc` and `ldnc` formats:
//   src  [T][B][I]   dst  [T][B][H]   h, c  [B][H]
// Weights are read where they live in the flat parameter buffer (plain ldigo, see
// param_layout.h); backward insists on ldgoi, so prepare_backward() reorders them once per update.
// Backward ACCUMULATES into the weight gradients and OVERWRITES the diff_src buffers.

#include <dnnl.hpp>
#include <map>
#include <memory>

#include "engine/model_config.h"

namespace tbptt::engine {

// One scratchpad shared by every primitive of a model: they never run at the same time.
class Scratchpad {
 public:
  void* get(size_t bytes);  // grows only when a new shape needs more
  size_t bytes() const { return bytes_; }

 private:
  std::unique_ptr<char[], void (*)(void*)> data_{nullptr, [](void*) {}};
  size_t bytes_ = 0;
};

// Where a chunk's recurrent state lives: h [B][H], and c [B][H] for the LSTM (nullptr otherwise).
struct StatePtr {
  float* h = nullptr;
  float* c = nullptr;
};

class RecurrentLayer {
 public:
  RecurrentLayer(const dnnl::engine& engine, Cell cell, int I, int H);
  ~RecurrentLayer();
  RecurrentLayer(RecurrentLayer&&) noexcept;

  size_t workspace_bytes(int T, int B);  // what forward(training) hands to backward
  size_t scratchpad_bytes(int T, int B);

  // dst, dst_state <- layer(src, src_state). workspace != nullptr selects forward_training.
  void forward(float* dst, StatePtr dst_state, const float* src, StatePtr src_state, const float* w_ih,
               const float* w_hh, const float* bias, void* workspace, int T, int B, dnnl::stream& s,
               Scratchpad& scratch);

  // Reorders the weights to the layout backward needs. Call after the last weight change.
  void prepare_backward(const float* w_ih, const float* w_hh, dnnl::stream& s);

  // dsrc, dsrc_state <- ; dw_ih, dw_hh, dbias += ; given the forward's buffers and workspace.
  void backward(float* dsrc, StatePtr dsrc_state, float* dw_ih, float* dw_hh, float* dbias,
                const float* ddst, StatePtr ddst_state, const float* src, StatePtr src_state,
                const float* dst, StatePtr dst_state, const float* bias, void* workspace, int T, int B,
                dnnl::stream& s, Scratchpad& scratch);

 private:
  struct Shape;  // primitives and memory objects of one (T, B)
  Shape& shape(int T, int B);
  Shape& built(int T, int B, bool training);  // the shape with its training or inference primitives
  void build(Shape& s, bool training);

  dnnl::engine engine_;
  Cell cell_;
  int I_, H_;
  std::map<std::pair<int, int>, std::unique_ptr<Shape>> shapes_;
  dnnl::memory bwd_w_ih_, bwd_w_hh_;  // ldgoi copies of the weights for backward
  dnnl::reorder reorder_ih_, reorder_hh_;
  dnnl::memory user_w_ih_, user_w_hh_;  // the weights as stored (plain ldigo), handles set per call
};

}  // namespace tbptt::engine
