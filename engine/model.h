#pragma once
// The model: input stage -> recurrent stack -> head -> loss, run one TBPTT window at a time.
//
// One training window of T steps with L = 2 layers, cut at step p where the next window starts
// (p = carry_from; the cut is only made when 0 < p < T, i.e. when windows overlap, k2 > k1):
//
//   tokens [T][B] --embedding--> X0 [T][B][E] --layer 0--> X1 [T][B][H] --layer 1--> X2 [T][B][H]
//                                                                                        |
//   state --chunk [0,p)--> carry (the state at p) --chunk [p,T)--> final                 | head on the
//                                                                                        v steps that
//                                      logits [(T - from) * B][V] <-- X2[from .. T) <----+ carry loss
//
// Backward visits the chunks last to first and, inside each, the layers top to bottom: the
// gradient of chunk [p,T)'s initial state is chunk [0,p)'s final-state gradient, and chunk
// [0,p)'s initial-state gradient is the window's (exposed for tests). The carried state crosses
// into the next window as a plain copy: no gradient ever flows between windows.
//
// A folded embedding (ModelConfig::folds_embedding, a small vocabulary against T*B) skips X0:
//
//   embedding [V][E] W_ih [E][4H] = table [V][4H]     once per pass
//   tokens [T][B] --layer 0 reads row tokens[t][b] of the table as that row's X0 W_ih--> X1 ...
//
// and backward sums layer 0's dZ rows by token into dtable [V][4H], from which
//   dW_ih += embedding^T dtable,   d embedding += dtable W_ih^T.

#include <cstdint>
#include <dnnl.hpp>
#include <span>
#include <vector>

#include "engine/buffer.h"
#include "engine/layers.h"
#include "engine/linear.h"
#include "engine/model_config.h"
#include "engine/param_layout.h"
#include "engine/recurrent_layer.h"

namespace tbptt::engine {

// The engine's view of one window (the data library fills it; pointers stay owned by the caller).
struct WindowBatch {
  int T = 0, B = 0;
  int new_from = 0;    // steps [new_from, T) carry the loss; [0, new_from) is the re-run overlap
  int carry_from = 0;  // the next window starts from the state after this many steps
  bool reset = false;  // the state is zero at step 0
  const int32_t* tokens = nullptr;        // [T][B] token inputs, or
  const float* features = nullptr;        // [T][B][I] dense inputs
  const int32_t* target_ids = nullptr;    // [T][B] class targets (< 0: none), or
  const float* target_values = nullptr;   // [T][B][O] regression targets
  const uint8_t* has_target = nullptr;    // [T][B]
};

// Hidden state of every layer, [L][B][H]; c only for the LSTM.
struct RecurrentState {
  int L = 0, B = 0, H = 0;
  bool lstm = false;
  std::vector<float> h, c;
  RecurrentState() = default;
  RecurrentState(int layers, int batch, int hidden, bool with_c);
  void resize(int batch);
  StatePtr at(int l) {
    const size_t o = static_cast<size_t>(l) * B * H;
    return {h.data() + o, c.empty() ? nullptr : c.data() + o};
  }
  void zero();
};

struct PassTimes {
  double forward = 0, backward = 0;  // seconds
};

// What a window of T steps and B rows needs besides parameters, gradients and optimizer state.
// oneDNN reserves workspace and scratchpad for every variant of its algorithm but writes only
// part of them (about half of an LSTM's workspace, a fifth of its f32 scratchpad): the *_resident
// figures are the bytes that become resident memory, measured by a probe (engine/memory.cpp).
struct MemoryEstimate {
  size_t parameters = 0;          // bytes of one flat buffer (params; grads and each optimizer moment are the same)
  size_t activations = 0;         // X, dX, logits, loss scratch, states; a folded embedding's table and dtable
  size_t workspace = 0;           // oneDNN forward->backward workspace of every layer, reserved
  size_t scratchpad = 0;          // oneDNN scratchpad (shared), reserved
  size_t weight_copies = 0;       // weights reordered for oneDNN (f32 backward; bf16 forward, backward and head)
  size_t workspace_resident = 0;  // of `workspace`, the bytes oneDNN writes
  size_t scratchpad_resident = 0; // of `scratchpad`, the bytes oneDNN writes
  size_t inference_scratchpad_resident = 0;  // what a forward-only (evaluation) window writes of its scratchpad
};

// Bytes a training window of (T, B) needs, from oneDNN's own workspace/scratchpad queries; the
// resident parts from one forward/backward of each layer over a short window (at most 16 steps).
// Nothing of the size of the window is allocated. The loss scratch is sized for
// omp_get_max_threads() threads.
MemoryEstimate estimate_memory(const ModelConfig& config, int T, int B);

// GEMM FLOPs of one update over a window of T steps whose newest `new_steps` carry the loss:
//   recurrent layer: forward 2*T*B*G*H*(I+H), backward twice that
//   head (every_step on new_steps, last_step on 1 step): 3 x 2*steps*B*H*outputs
// The nominal count: a folded embedding does layer 0's I-part on V rows instead of T*B.
double update_flops(const ModelConfig& config, int T, int new_steps, int B);

class Model {
 public:
  static constexpr int kMaxLayers = 64;

  // The parameters live in `storage` if given (layout().size() floats), else in the model.
  Model(const ModelConfig& config, uint64_t seed, std::span<float> storage = {});

  const ModelConfig& config() const { return config_; }
  const ParamLayout& layout() const { return layout_; }
  std::span<float> params() { return params_; }
  std::span<const float> params() const { return params_; }

  RecurrentState make_state(int B) const;

  // Forward over the window from `state`, then backward: grads = d(sum of the window's per-target
  // losses)/d(params). The sum is unnormalised; the caller divides by the global target count.
  // On return `state` holds the state after w.carry_from steps (the next window's initial state).
  LossSums forward_backward(std::span<float> grads, RecurrentState& state, const WindowBatch& w,
                            PassTimes* times = nullptr);

  // Forward only (no workspace, no gradient); `state` advances to the end of the window. The loss
  // covers the same steps training would: [new_from, T), or the last step for a last_step head.
  LossSums forward(RecurrentState& state, const WindowBatch& w);

  // d(loss sum)/d(initial state) from the last forward_backward.
  const RecurrentState& initial_state_grad() const { return dstate0_; }


 private:
  // The three places a window's h lives (bf16 models keep h in bf16; see h16_).
  enum Slot { kInitial = 0, kCarry = 1, kFinal = 2 };

  void reserve(int T, int B, bool fold);
  void begin_pass(const RecurrentState& state);  // weights to the primitives' layouts, state in
  void end_pass(RecurrentState& state, const RecurrentState& from, Slot slot);  // the state out
  // X0: the embedding's output or the dense features; folded: nullptr, and the table is made.
  const void* input(const WindowBatch& w, bool fold);
  TokenRows token_rows(const WindowBatch& w, bool fold, int t0);  // layer 0's folded input from step t0
  struct FoldOperands {
    const float* embedding;  // [V][E]
    const float* w_ih;       // [E][4H] of layer 0
  };
  // The embedding and layer 0's W_ih as layer 0 reads them: a bf16 model's rounded to bf16 (into
  // fold_operands_, when `round`: once per pass).
  FoldOperands fold_operands(bool round);
  void fold_backward(float* grads);  // dW_ih of layer 0 and d embedding from dtable
  StatePtr state_at(RecurrentState& s, Slot slot, int l);
  char* X(int l) { return acts_[l].data(); }
  float* dX(int l) { return dacts_[l].data(); }
  int head_from(const WindowBatch& w) const;
  LossSums head_loss(const WindowBatch& w, int from, bool grad, float* grads);
  void check(const WindowBatch& w) const;

  ModelConfig config_;
  ParamLayout layout_;
  // Offsets of the non-recurrent tensors, looked up once (a name lookup builds a std::string).
  size_t embedding_at_, head_w_at_, head_b_at_;
  Buffer<float> owned_params_;
  std::span<float> params_;
  bool bf16_;
  size_t act_size_;  // bytes of one activation: 4 (f32) or 2 (bf16)

  dnnl::engine dnnl_engine_;
  dnnl::stream stream_;
  std::vector<RecurrentLayer> layers_;
  Linear head_;
  Scratchpad scratch_;

  std::vector<Buffer<char>> acts_;    // X0..XL, [T][B][width] in the stack's data type
  std::vector<Buffer<float>> dacts_;  // dX0..dXL, [T][B][width] f32
  Buffer<float> logits_;              // [T*B][outputs]; an f32 model's dlogits replace them in place
  Buffer<float> loss_partials_;       // [threads][outputs]: the head bias gradient's per-thread sums
  Buffer<bfloat16> dlogits16_;        // bf16 model: [T*B][outputs] dlogits for the head's backward
  Buffer<bfloat16> h16_;              // bf16 model: h of the initial, carry and final states, [3][L][B][H]
  Buffer<float> table_, dtable_;      // folded embedding: [V][4H] each
  Buffer<float> fold_operands_;       // bf16 model, folded: the embedding and W_ih rounded to bf16
  Buffer<char> workspace_;            // every (layer, chunk)'s oneDNN workspace
  RecurrentState carry_, final_, zero_, dcarry_, dstate0_;
};

}  // namespace tbptt::engine
