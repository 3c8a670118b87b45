#pragma once
// All parameters live in one flat f32 buffer, carved by this one table (and the gradients in a
// second buffer with the same table). Averaging is one allreduce, the optimizer one loop, a
// checkpoint one write.
//
// The table stores each tensor in the layout oneDNN computes with, so forward reads the weights
// and backward writes the weight gradients in place, with no copies. PyTorch names every tensor
// differently shaped; export_state_dict / import_state_dict translate, exactly (bit for bit):
//
//   tbptt tensor (flat buffer)         layout here          PyTorch state_dict
//   embedding.weight                   [V][E]               embedding.weight  [V, E]
//   rnn.weight_ih_l{l}                 ldigo = [I][G][H]    rnn.weight_ih_l{l} [G*H, I]  (transposed)
//   rnn.weight_hh_l{l}                 ldigo = [H][G][H]    rnn.weight_hh_l{l} [G*H, H]  (transposed)
//   rnn.bias_l{l}                      ldgo  = [Gb][H]      rnn.bias_ih_l{l} + rnn.bias_hh_l{l}
//   head.weight                        [V][H]               head.weight [V, H]
//   head.bias                          [V]                  head.bias [V]
//
// Gate order. LSTM: oneDNN i, f, c~, o equals PyTorch's i, f, g, o. Vanilla RNN: one gate.
// GRU: oneDNN's linear-before-reset GRU orders gates u, r, o (update, reset, candidate), PyTorch
// orders r, z, n (z = u, n = o): the first two gate blocks swap on export.
//
// Bias. oneDNN has one bias per layer where PyTorch has two that are always summed:
//   LSTM / RNN: bias = b_ih + b_hh            -> export b_ih = bias, b_hh = 0
//   GRU (LBR):  bias rows u, r, o, u' with      -> export b_ih = [b_r, b_u, b_o],
//               u = b_iz + b_hz, r = b_ir + b_hr,    b_hh = [0, 0, b_u']
//               o = b_in, u' = b_hn (inside r * (W_hn h + b_hn))
// Import sums b_ih + b_hh back, so any PyTorch model loads and export(import(x)) is exact.

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "engine/model_config.h"

namespace tbptt::engine {

enum class TensorKind { plain, rnn_weight, rnn_bias };

struct TensorSlot {
  std::string name;          // tbptt name (the table above)
  std::vector<int> shape;    // shape in the flat buffer, outermost first
  size_t offset = 0;         // elements from the start of the flat buffer
  size_t size = 0;           // elements
  TensorKind kind = TensorKind::plain;
  int layer = -1;            // recurrent layer of rnn_* tensors
};

// A tensor under its PyTorch name and shape, as written to a checkpoint.
struct NamedTensor {
  std::string name;
  std::vector<int> shape;
  std::vector<float> data;
};

class ParamLayout {
 public:
  explicit ParamLayout(const ModelConfig& config);

  const std::vector<TensorSlot>& slots() const { return slots_; }
  const TensorSlot& slot(const std::string& name) const;  // throws std::out_of_range
  size_t size() const { return size_; }                    // total elements

  // Slots of the recurrent layer l: weight_ih, weight_hh, bias.
  const TensorSlot& weight_ih(int l) const { return slots_[rnn_first_ + 3 * l]; }
  const TensorSlot& weight_hh(int l) const { return slots_[rnn_first_ + 3 * l + 1]; }
  const TensorSlot& bias(int l) const { return slots_[rnn_first_ + 3 * l + 2]; }

  // PyTorch-default initialisation, or uniform(+-init_scale): a pure function of the seed, the
  // tensor's position in the table and the element index (so identical on every rank).
  void initialize(std::span<float> params, uint64_t seed) const;

  std::vector<NamedTensor> export_state_dict(std::span<const float> params) const;
  // Throws tbptt::ConfigError naming the tensor on a missing name or a wrong shape.
  void import_state_dict(const std::vector<NamedTensor>& tensors, std::span<float> params) const;

 private:
  ModelConfig config_;
  std::vector<TensorSlot> slots_;
  size_t rnn_first_ = 0;
  size_t size_ = 0;
};

}  // namespace tbptt::engine
