#include "engine/param_layout.h"

#include <cmath>
#include <stdexcept>

#include "common/counter_rng.h"
#include "common/error.h"

namespace tbptt::engine {
namespace {

// PyTorch's gate index of oneDNN gate g (GRU swaps update and reset; see the header).
int pytorch_gate(Cell cell, int g) {
  if (cell == Cell::gru && g < 2) return 1 - g;
  return g;
}

std::string shape_text(const std::vector<int>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

ParamLayout::ParamLayout(const ModelConfig& config) : config_(config) {
  config.validate();
  const int L = config.layers, H = config.hidden, G = gates(config.cell), Gb = bias_gates(config.cell);
  auto add = [&](std::string name, std::vector<int> shape, TensorKind kind, int layer) {
    size_t n = 1;
    for (int d : shape) n *= static_cast<size_t>(d);
    slots_.push_back({std::move(name), std::move(shape), size_, n, kind, layer});
    size_ += n;
  };
  if (config.token_input()) add("embedding.weight", {config.vocab, config.embedding}, TensorKind::plain, -1);
  rnn_first_ = slots_.size();
  for (int l = 0; l < L; ++l) {
    const std::string s = std::to_string(l);
    add("rnn.weight_ih_l" + s, {config.layer_input(l), G, H}, TensorKind::rnn_weight, l);
    add("rnn.weight_hh_l" + s, {H, G, H}, TensorKind::rnn_weight, l);
    add("rnn.bias_l" + s, {Gb, H}, TensorKind::rnn_bias, l);
  }
  add("head.weight", {config.outputs, H}, TensorKind::plain, -1);
  add("head.bias", {config.outputs}, TensorKind::plain, -1);
}

const TensorSlot& ParamLayout::slot(const std::string& name) const {
  for (const auto& s : slots_)
    if (s.name == name) return s;
  throw std::out_of_range("no parameter tensor named " + name);
}

// Per tensor (PyTorch's defaults): embedding.weight ~ N(0, 1); every rnn.* and head.* tensor
// ~ U(-1/sqrt(H), 1/sqrt(H)) (nn.LSTM/GRU/RNN reset_parameters, and nn.Linear's kaiming-uniform
// bound 1/sqrt(fan_in) with fan_in = H). A stored RNN bias is PyTorch's b_ih + b_hh, so it is
// drawn as the sum of two such uniforms (only one for the GRU's o and u' rows). init_scale s
// replaces every distribution by U(-s, s) (Zaremba et al. use 0.1).
void ParamLayout::initialize(std::span<float> params, uint64_t seed) const {
  const double s = config_.init_scale;
  const double rnn_bound = s > 0 ? s : 1.0 / std::sqrt(static_cast<double>(config_.hidden));
  const int H = config_.hidden;
  for (size_t k = 0; k < slots_.size(); ++k) {
    const TensorSlot& t = slots_[k];
    float* p = params.data() + t.offset;
    auto u = [&](size_t i) { return rnn_bound * (2.0 * rng::uniform(seed, k, i) - 1.0); };
    for (size_t i = 0; i < t.size; ++i) {
      double v;
      if (t.name == "embedding.weight") {
        v = s > 0 ? u(i) : rng::normal(seed, k, i);
      } else if (t.kind == TensorKind::rnn_bias && config_.cell == Cell::gru) {
        const size_t row = i / H;  // u, r: b_i + b_h;  o: b_in only;  u': b_hn only
        v = row < 2 ? u(i) + u(t.size + i) : u(i);
      } else if (t.kind == TensorKind::rnn_bias) {
        v = u(i) + u(t.size + i);
      } else {
        v = u(i);
      }
      p[i] = static_cast<float>(v);
    }
  }
}

std::vector<NamedTensor> ParamLayout::export_state_dict(std::span<const float> params) const {
  std::vector<NamedTensor> out;
  const int H = config_.hidden, G = gates(config_.cell);
  for (const TensorSlot& t : slots_) {
    const float* p = params.data() + t.offset;
    if (t.kind == TensorKind::plain) {
      out.push_back({t.name, t.shape, std::vector<float>(p, p + t.size)});
    } else if (t.kind == TensorKind::rnn_weight) {
      // ldigo [I][G][H] -> [G*H, I], gate blocks in PyTorch's order.
      const int I = t.shape[0];
      NamedTensor w{t.name, {G * H, I}, std::vector<float>(t.size)};
      for (int i = 0; i < I; ++i)
        for (int g = 0; g < G; ++g)
          for (int h = 0; h < H; ++h)
            w.data[(static_cast<size_t>(pytorch_gate(config_.cell, g)) * H + h) * I + i] =
                p[(static_cast<size_t>(i) * G + g) * H + h];
      out.push_back(std::move(w));
    } else {
      const std::string l = std::to_string(t.layer);
      NamedTensor ih{"rnn.bias_ih_l" + l, {G * H}, std::vector<float>(G * H, 0.0f)};
      NamedTensor hh{"rnn.bias_hh_l" + l, {G * H}, std::vector<float>(G * H, 0.0f)};
      for (int g = 0; g < G; ++g)
        for (int h = 0; h < H; ++h) ih.data[pytorch_gate(config_.cell, g) * H + h] = p[g * H + h];
      if (config_.cell == Cell::gru)  // u' is b_hn, PyTorch's third hidden-bias block
        for (int h = 0; h < H; ++h) hh.data[2 * H + h] = p[3 * H + h];
      out.push_back(std::move(ih));
      out.push_back(std::move(hh));
    }
  }
  return out;
}

void ParamLayout::import_state_dict(const std::vector<NamedTensor>& tensors, std::span<float> params) const {
  auto find = [&](const std::string& name, const std::vector<int>& shape) -> const std::vector<float>& {
    for (const NamedTensor& t : tensors) {
      if (t.name != name) continue;
      if (t.shape != shape)
        throw ConfigError("state_dict." + name, shape_text(t.shape), "shape must be " + shape_text(shape));
      return t.data;
    }
    throw ConfigError("state_dict." + name, "missing", "a tensor of shape " + shape_text(shape));
  };
  const int H = config_.hidden, G = gates(config_.cell);
  for (const TensorSlot& t : slots_) {
    float* p = params.data() + t.offset;
    if (t.kind == TensorKind::plain) {
      const auto& src = find(t.name, t.shape);
      std::copy(src.begin(), src.end(), p);
    } else if (t.kind == TensorKind::rnn_weight) {
      const int I = t.shape[0];
      const auto& w = find(t.name, {G * H, I});
      for (int i = 0; i < I; ++i)
        for (int g = 0; g < G; ++g)
          for (int h = 0; h < H; ++h)
            p[(static_cast<size_t>(i) * G + g) * H + h] =
                w[(static_cast<size_t>(pytorch_gate(config_.cell, g)) * H + h) * I + i];
    } else {
      const std::string l = std::to_string(t.layer);
      const auto& ih = find("rnn.bias_ih_l" + l, {G * H});
      const auto& hh = find("rnn.bias_hh_l" + l, {G * H});
      for (int g = 0; g < G; ++g) {
        const int pg = pytorch_gate(config_.cell, g);
        const bool gru_candidate = config_.cell == Cell::gru && g == 2;  // b_hn goes to u', not o
        for (int h = 0; h < H; ++h)
          p[g * H + h] = gru_candidate ? ih[pg * H + h] : ih[pg * H + h] + hh[pg * H + h];
      }
      if (config_.cell == Cell::gru)
        for (int h = 0; h < H; ++h) p[3 * H + h] = hh[2 * H + h];
    }
  }
}

}  // namespace tbptt::engine
