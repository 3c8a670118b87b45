// Acceptance 4 (first half): a tiny model memorises a short sequence with each optimizer.

#include <gtest/gtest.h>

#include "engine/trainer.h"

namespace tbptt::engine::testing {
namespace {

double train_to_memorise(Cell cell, OptimizerKind kind, double lr, double momentum, int updates) {
  ModelConfig m;
  m.cell = cell, m.hidden = 16, m.vocab = 4, m.embedding = 8, m.outputs = 4;
  Model model(m, 5);
  TrainerConfig tc;
  tc.optimizer.kind = kind, tc.optimizer.lr = lr, tc.optimizer.momentum = momentum;
  TruncatedTrainer trainer(model, tc, 1);
  // The sequence 0 1 2 3 1 0 3 2 0 : predict each next symbol (needs the previous one or two).
  const std::vector<int32_t> seq = {0, 1, 2, 3, 1, 0, 3, 2, 0};
  const int T = 8;
  std::vector<int32_t> x(seq.begin(), seq.begin() + T), y(seq.begin() + 1, seq.end());
  std::vector<uint8_t> has(T, 1);
  WindowBatch w{T, 1, 0, T, true, x.data(), nullptr, y.data(), nullptr, has.data()};
  double loss = 0;
  for (int u = 0; u < updates; ++u) loss = trainer.update(w).loss;
  return loss;
}

TEST(Training, MemorisesWithEachOptimizer) {
  for (Cell cell : {Cell::lstm, Cell::gru, Cell::rnn_tanh}) {
    EXPECT_LT(train_to_memorise(cell, OptimizerKind::adam, 0.02, 0, 400), 0.01) << name(cell) << " adam";
    EXPECT_LT(train_to_memorise(cell, OptimizerKind::adamw, 0.02, 0, 400), 0.01) << name(cell) << " adamw";
    EXPECT_LT(train_to_memorise(cell, OptimizerKind::sgd, 0.5, 0.9, 400), 0.01) << name(cell) << " sgd";
  }
}

}  // namespace
}  // namespace tbptt::engine::testing
