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
// Data types (f32 model / bf16 model):
//   src, dst, h                    f32 / bf16
//   c (LSTM cell state)            f32 / f32
//   every diff (dsrc, ddst, dh, dc, weight and bias gradients), bias   f32 / f32
// Weights live as f32 plain ldigo in the flat parameter buffer, and set_weights() puts them in
// the layouts the primitives want: f32 forward reads them in place, f32 backward needs an ldgoi
// copy; bf16 forward and backward each need a bf16 copy in a blocked layout that oneDNN chooses
// (the same for every shape of an LSTM; copies are shared by layout).
// Backward ACCUMULATES into the weight gradients and OVERWRITES the diff_src buffers.
//
// An LSTM, f32 or bf16, runs on tbptt's GEMM cell instead (engine/gemm_lstm.h) unless
// LstmKernel::primitive is asked for: the same function, with the same arguments, on faster products.

#include <dnnl.hpp>
#include <map>
#include <memory>
#include <vector>

#include "engine/buffer.h"
#include "engine/gemm_lstm.h"
#include "engine/model_config.h"
#include "engine/weight_copies.h"

namespace tbptt::engine {

// Where a chunk's recurrent state lives: h [B][H] in the layer's data type (always f32 for a
// diff state), and c [B][H] in f32 for the LSTM (nullptr otherwise).
struct StatePtr {
  void* h = nullptr;
  float* c = nullptr;
};

class RecurrentLayer {
 public:
  RecurrentLayer(const dnnl::engine& engine, Cell cell, int I, int H, Precision precision,
                 LstmKernel kernel = LstmKernel::gemm);
  ~RecurrentLayer();
  RecurrentLayer(RecurrentLayer&&) noexcept;

  size_t workspace_bytes(int T, int B);  // what forward(training) hands to backward
  size_t scratchpad_bytes(int T, int B, bool training = true);  // training: max of forward and backward
  size_t weight_copy_bytes(int T, int B);  // the reordered weights this layer keeps

  // The f32 ldigo weights of the next passes. Copies in the primitives' layouts are made at the
  // first forward and the first backward after this call: once per pass, not per chunk.
  void set_weights(const float* w_ih, const float* w_hh);

  // dst, dst_state <- layer(src, src_state). workspace != nullptr selects forward_training.
  // tokens.ids set (an LSTM on the GEMM cell only, see ModelConfig::folds_embedding): the input
  // is the folded token rows, src is not read.
  void forward(void* dst, StatePtr dst_state, const void* src, StatePtr src_state, const float* bias,
               void* workspace, int T, int B, dnnl::stream& s, Scratchpad& scratch,
               const TokenRows& tokens = {});

  // dsrc, dsrc_state <- ; dw_ih, dw_hh, dbias += ; given the forward's buffers and workspace.
  // tokens.ids set: tokens.dtable += in place of dsrc and dw_ih.
  void backward(float* dsrc, StatePtr dsrc_state, float* dw_ih, float* dw_hh, float* dbias, const float* ddst,
                StatePtr ddst_state, const void* src, StatePtr src_state, const void* dst, StatePtr dst_state,
                const float* bias, void* workspace, int T, int B, dnnl::stream& s, Scratchpad& scratch,
                const TokenRows& tokens = {});

 private:
  struct Shape;  // primitives and memory objects of one (T, B)
  Shape& shape(int T, int B);
  Shape& built(int T, int B, bool training);  // the shape with its training or inference primitives
  void build(Shape& s, bool training);
  void refresh(WeightCopies::Copy* const (&copies)[2], dnnl::stream& s);  // reorder the stale ones

  dnnl::engine engine_;
  Cell cell_;
  int I_, H_;
  Precision precision_;
  std::map<std::pair<int, int>, std::unique_ptr<Shape>> shapes_;
  dnnl::memory user_ih_, user_hh_;  // views of the f32 weights as stored (handles from set_weights)
  WeightCopies copies_;  // one per layout the primitives chose
  std::unique_ptr<GemmLstm> gemm_;  // set: the layer is an LSTM on GEMMs, no primitive is built
  const float* w_ih_ = nullptr;
  const float* w_hh_ = nullptr;
};

}  // namespace tbptt::engine
