#pragma once
// The configurations `make bench` compares with PyTorch (bench/pytorch_peer.py builds the same
// three; bench/README.md has the table). Each is the model, the optimizer and the TBPTT window of
// a seed program, fed synthetic data: throughput does not depend on what the numbers are.
//
//   seed_lm         Keras seed LM    V=5000 E=128 LSTM H=256       B=32 k=20   Adam 1e-3
//   seed_regressor  PyTorch seed     I=10 LSTM H=32 -> 1 (last)    B=16 k=20   Adam 1e-3, seq_len 100
//   char_lm         char-level LM    V=65 E=64 2xLSTM H=512        B=64 k=100  Adam 2e-3, clip 1.0

#include <string>
#include <vector>

#include "common/counter_rng.h"
#include "engine/trainer.h"

namespace tbptt::bench {

struct Workload {
  std::string name;
  engine::ModelConfig model;
  engine::TrainerConfig trainer;
  int T = 0;        // k1 = k2: the window
  int B = 0;        // global batch rows
  int seq_len = 0;  // 0: one endless stream per row; else the state resets every seq_len / T windows
};

inline std::vector<Workload> workloads(engine::Precision precision) {
  using engine::Cell;
  std::vector<Workload> w(3);
  w[0].name = "seed_lm";
  w[0].model.hidden = 256, w[0].model.vocab = 5000, w[0].model.embedding = 128, w[0].model.outputs = 5000;
  w[0].trainer.optimizer.lr = 1e-3, w[0].T = 20, w[0].B = 32;

  w[1].name = "seed_regressor";
  w[1].model.hidden = 32, w[1].model.input = 10, w[1].model.outputs = 1;
  w[1].model.head = engine::Head::last_step, w[1].model.loss = engine::Loss::mse;
  w[1].trainer.optimizer.lr = 1e-3, w[1].T = 20, w[1].B = 16, w[1].seq_len = 100;

  w[2].name = "char_lm";
  w[2].model.layers = 2, w[2].model.hidden = 512, w[2].model.vocab = 65, w[2].model.embedding = 64;
  w[2].model.outputs = 65;
  w[2].trainer.optimizer.lr = 2e-3, w[2].trainer.clip_grad_norm = 1.0, w[2].T = 100, w[2].B = 64;
  for (Workload& x : w) x.model.cell = Cell::lstm, x.model.precision = precision;
  return w;
}

// Windows of rows [row0, row0 + rows) of a global batch: uniform tokens (or N(0,1) features) and
// targets, fixed per row and step; window u resets the state when a sequence starts.
class SyntheticWindows {
 public:
  SyntheticWindows(const Workload& w, int row0, int rows)
      : w_(w), has_(static_cast<size_t>(w.T) * rows, 1) {
    const engine::ModelConfig& m = w.model;
    const size_t TB = has_.size();
    auto id = [&](size_t i) { return (i / rows) * w.B + row0 + i % rows; };  // global [t][b] index
    if (m.token_input()) {
      tokens_.resize(TB);
      for (size_t i = 0; i < TB; ++i) tokens_[i] = static_cast<int32_t>(rng::below(m.vocab, 1, 1, id(i)));
    } else {
      features_.resize(TB * m.input);
      for (size_t i = 0; i < features_.size(); ++i)
        features_[i] = static_cast<float>(rng::normal(1, 2, id(i / m.input) * m.input + i % m.input));
    }
    if (m.loss == engine::Loss::cross_entropy) {
      ids_.resize(TB);
      for (size_t i = 0; i < TB; ++i) ids_[i] = static_cast<int32_t>(rng::below(m.outputs, 1, 3, id(i)));
    } else {
      values_.resize(TB * m.outputs);
      for (size_t i = 0; i < values_.size(); ++i)
        values_[i] = static_cast<float>(rng::normal(1, 4, id(i / m.outputs) * m.outputs + i % m.outputs));
    }
    window_ = engine::WindowBatch{w.T, rows, 0, w.T, false,
                                  tokens_.empty() ? nullptr : tokens_.data(),
                                  features_.empty() ? nullptr : features_.data(),
                                  ids_.empty() ? nullptr : ids_.data(),
                                  values_.empty() ? nullptr : values_.data(),
                                  has_.data()};
  }

  const engine::WindowBatch& next() {
    window_.reset = w_.seq_len > 0 && u_ % (w_.seq_len / w_.T) == 0;
    ++u_;
    return window_;
  }

 private:
  Workload w_;
  std::vector<int32_t> tokens_, ids_;
  std::vector<float> features_, values_;
  std::vector<uint8_t> has_;
  engine::WindowBatch window_;
  int64_t u_ = 0;
};

}  // namespace tbptt::bench
