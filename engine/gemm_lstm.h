#pragma once
// An LSTM layer written as GEMMs and one fused elementwise loop per step: what every LSTM layer
// runs, f32 or bf16 (RecurrentLayer delegates here; GRU and RNN layers stay on oneDNN's RNN
// primitive, and LstmKernel::primitive puts the LSTM back on it to compare the two).
//
// Why not oneDNN's primitive: oneDNN 2.6 trains an f32 LSTM on its reference RNN driver. Its
// backward reorders the weights to ldgoi and runs the per-step products through packed sgemm;
// here the per-step products are matmul primitives whose weights are packed once per pass, and
// everything that does not depend on the previous step is one GEMM over the whole chunk. Its bf16
// LSTM (brgemm) was slower still: on the seed LM at 2 threads 1.9 ms forward and 4.8 ms backward,
// where this cell's f32 took 2.2 and 3.5.
//
// Gates G = 4 in oneDNN's (and PyTorch's) order i, f, c~, o; weights as in the flat parameter
// buffer, ldigo = row-major [I][4H] and [H][4H], bias [4H]. Rows are time-major, [T][B].
//
// Forward over a chunk of T steps:
//   Z [T*B][4H]  = X [T*B][I] W_ih                               one GEMM for the chunk
//   t = 0..T-1:  Z[t] += h_{t-1} W_hh                            matmul [B][H] x [H][4H]
//                i, f, o = sigmoid, c~ = tanh of Z[t] + bias     (Z[t] becomes the activations A[t])
//                c_t = f c_{t-1} + i c~,  h_t = o tanh(c_t)      h_t is dst[t]
// Workspace, handed from forward to backward:  A [T][B][4H] | c [T][B][H].
// Backward, t = T-1..0, turns A[t] into dZ[t]:
//   dh = ddst[t] + dZ[t+1] W_hh^T        (the state gradient's h at t = T-1)
//   dc = dc_{t+1} + dh o (1 - tanh^2 c_t)     (the state gradient's c at t = T-1)
//   dZ[t] = (dc c~ i(1-i), dc c_{t-1} f(1-f), dc i (1-c~^2), dh tanh(c_t) o(1-o)),  dc_t = dc f
// and then over the whole chunk:
//   dW_ih += X^T dZ,   dW_hh += [h_{-1}; h_0 .. h_{T-2}]^T dZ,   dbias += sum over rows of dZ,
//   dX = dZ W_ih^T.
//
// Data types (f32 / bf16 layer): X, dst and h are f32 / bf16, everything else f32: Z and A, c,
// the bias, every gradient. The products read f32 / bf16 operands and accumulate in f32. So a bf16
// layer's backward writes dZ in bf16 (into the scratchpad; f32 writes it over A in place), and
// its chunk products are bf16 matmuls (engine/bf16_product.h) where f32 calls sgemm.
//
// A token input folded into the layer (layer 0 of a token-input model; engine/model.h decides):
// X W_ih of a row is row id of a table [V][4H], the embedding times W_ih made once per pass, so
// forward copies each step's rows from the table instead of the chunk's X W_ih GEMM (right before
// the step's product, which then finds them in cache), and backward adds dZ's rows into the
// table's gradient by the same ids instead of forming dW_ih and dX.
//
// Threads: the steps of both recurrences touch each batch row alone, so on T threads each thread
// takes B/T rows (a lane, with its own one-thread matmul primitives) through every step of the
// chunk, with no barrier between steps: on 2 threads the seed LM's LSTM forward took 2.19 against
// 2.37 ms with the team woken twice per step, its backward 3.53 against 3.70 ms.

#include <cstdint>
#include <dnnl.hpp>
#include <map>
#include <memory>
#include <utility>

#include "engine/bf16_product.h"
#include "engine/buffer.h"
#include "engine/model_config.h"
#include "engine/weight_copies.h"

namespace tbptt::engine {

// The folded input of one chunk (see above).
struct TokenRows {
  const int32_t* ids = nullptr;  // [T][B], each in [0, V)
  const float* table = nullptr;  // [V][4H]: embedding W_ih
  float* dtable = nullptr;       // [V][4H]: += the rows of dZ, by id (training)
};

class GemmLstm {
 public:
  // The recurrence runs on the OpenMP team, each thread its own rows of the batch (a lane), from
  // B * H = this many units: five exponentials per unit make it worth waking the team far sooner
  // than a memory-bound loop.
  static constexpr int64_t kParallelUnits = 2048;

  GemmLstm(const dnnl::engine& engine, int I, int H, Precision precision);
  ~GemmLstm();
  GemmLstm(GemmLstm&&) noexcept;

  size_t workspace_bytes(int T, int B) const;
  size_t scratchpad_bytes(int T, int B, bool training);
  size_t weight_copy_bytes(int B);  // W_hh packed for forward and W_hh^T for backward; bf16: W_ih

  void set_weights(const float* w_ih, const float* w_hh);

  // dst [T][B][H], h_T, c_T <- the layer over src [T][B][I] from (h0, c0); src, dst and the h
  // states in the layer's data type. workspace != nullptr: training (the workspace keeps what
  // backward needs); nullptr: inference. With tokens.ids set the input is theirs and src is not read.
  void forward(void* dst, void* h_T, float* c_T, const void* src, const void* h0, const float* c0,
               const float* bias, void* workspace, int T, int B, dnnl::stream& s, Scratchpad& scratch,
               const TokenRows& tokens = {});

  // dsrc (overwritten), dh0, dc0 <- ; dw_ih, dw_hh, dbias += ; from ddst and the final state's
  // gradient (dh_T, dc_T). The workspace's activations are overwritten by the gate gradients.
  // With tokens.ids set: tokens.dtable += instead, and dsrc, dw_ih and src are not touched.
  void backward(float* dsrc, float* dh0, float* dc0, float* dw_ih, float* dw_hh, float* dbias, const float* ddst,
                const float* dh_T, const float* dc_T, const void* src, const void* h0, const float* c0,
                const void* dst, void* workspace, int T, int B, dnnl::stream& s, Scratchpad& scratch,
                const TokenRows& tokens = {});

 private:
  struct Step;   // the per-step matmul primitives of one B at one thread count, lane by lane
  struct Chunk;  // a bf16 layer's chunk products of one (T, B)
  struct Pad;    // where each part of the scratchpad lives
  Step& step(int B);
  Chunk& chunk(int T, int B);
  Pad pad_layout(int T, int B, bool training);
  void bind(Step& st, char* pad, bool forward, dnnl::stream& s);

  dnnl::engine engine_;
  int I_, H_;
  bool bf16_;
  size_t act_;  // bytes of one X, dst or h value
  std::map<std::pair<int, int>, std::unique_ptr<Step>> steps_;    // by (B, threads)
  std::map<std::pair<int, int>, std::unique_ptr<Chunk>> chunks_;  // by (T, B)
  // Views of the weights as stored: W_ih [I][4H], W_hh [H][4H], and W_hh read as [4H][H].
  dnnl::memory user_ih_, user_hh_, user_hh_t_;
  WeightCopies copies_;
  WeightCopies::Copy* w_ih16_ = nullptr;  // bf16: W_ih rounded, plain [I][4H] (read as is and transposed)
  const float* w_ih_ = nullptr;
  const float* w_hh_ = nullptr;
};

}  // namespace tbptt::engine
