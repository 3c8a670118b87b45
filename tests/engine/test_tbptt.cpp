// Acceptance 2, 3, 5: TBPTT semantics of the model and trainer.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "engine/trainer.h"
#include "tests/engine/reference_model.h"

namespace tbptt::engine::testing {
namespace {

ModelConfig small_lm(Cell cell = Cell::lstm, int layers = 2) {
  ModelConfig m;
  m.cell = cell, m.layers = layers, m.hidden = 8, m.vocab = 7, m.embedding = 5, m.outputs = 7;
  return m;
}

std::vector<float> gradient(Model& model, RecurrentState state, const WindowBatch& w) {
  std::vector<float> g(model.layout().size());
  model.forward_backward(g, state, w);
  return g;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, static_cast<double>(std::abs(a[i] - b[i])));
  return d;
}

// k1 = k2 = seq_len: one window over the whole sequence, loss on every step, is full BPTT: its
// gradient is the finite-difference gradient of the whole sequence's loss.
TEST(Tbptt, FullSequenceWindowIsFullBptt) {
  const ModelConfig cfg = small_lm(Cell::gru, 1);
  Model model(cfg, 3);
  OwnedWindow win = make_window(cfg, /*T=*/9, /*B=*/2, /*new_from=*/0, /*carry_from=*/9, 5);
  const std::vector<float> g = gradient(model, model.make_state(2), win.view);
  const std::vector<double> P(model.params().begin(), model.params().end());
  const std::vector<double> zeros(static_cast<size_t>(cfg.layers) * 2 * cfg.hidden, 0.0);
  const auto ref = finite_difference(P, 1e-6, [&](const std::vector<double>& p) { return reference_loss(cfg, p, zeros, {}, win.view); });
  EXPECT_LT(relative_error(g.data(), ref.data(), g.size()), 1e-4);
}

// Cutting a window into chunks to read out the carried state changes nothing in the gradient.
TEST(Tbptt, ChunkedWindowEqualsUnchunked) {
  for (Cell cell : {Cell::lstm, Cell::gru, Cell::rnn_tanh}) {
    const ModelConfig cfg = small_lm(cell);
    Model model(cfg, 3);
    OwnedWindow whole = make_window(cfg, 10, 3, 4, /*carry_from=*/10, 9);
    OwnedWindow cut = make_window(cfg, 10, 3, 4, /*carry_from=*/6, 9);
    const auto a = gradient(model, model.make_state(3), whole.view);
    const auto b = gradient(model, model.make_state(3), cut.view);
    EXPECT_LT(max_abs_diff(a, b), 1e-6) << name(cell);
  }
}

// Overlap steps [0, new_from) are re-run for their state but carry no loss: their targets do
// not matter; a target among the newest steps does.
TEST(Tbptt, OnlyNewestStepsCarryLoss) {
  const ModelConfig cfg = small_lm();
  Model model(cfg, 3);
  OwnedWindow w = make_window(cfg, 8, 2, /*new_from=*/5, 5, 13);
  const auto base = gradient(model, model.make_state(2), w.view);
  for (int m = 0; m < 5 * 2; ++m) w.target_ids[m] = (w.target_ids[m] + 1) % cfg.outputs, w.has_target[m] = 1;
  const auto overlap_changed = gradient(model, model.make_state(2), w.view);
  EXPECT_EQ(0, std::memcmp(base.data(), overlap_changed.data(), base.size() * sizeof(float)));
  w.target_ids[6 * 2] = (w.target_ids[6 * 2] + 1) % cfg.outputs;
  w.has_target[6 * 2] = 1;
  const auto new_changed = gradient(model, model.make_state(2), w.view);
  EXPECT_GT(max_abs_diff(base, new_changed), 1e-4);
}

// State carried across two windows gives the same forward as one long window (inference and the
// training pass's carried state alike).
TEST(Tbptt, CarriedStateEqualsOneLongWindow) {
  const ModelConfig cfg = small_lm();
  Model model(cfg, 3);
  const int B = 2;
  OwnedWindow all = make_window(cfg, 12, B, 0, 12, 17);
  auto part = [&](int t0, int T) {
    WindowBatch v = all.view;
    v.T = T, v.carry_from = T, v.new_from = 0;
    v.tokens += t0 * B, v.target_ids += t0 * B, v.has_target += t0 * B;
    return v;
  };
  RecurrentState long_state = model.make_state(B), chained = model.make_state(B), trained = model.make_state(B);
  const LossSums whole = model.forward(long_state, all.view);
  const LossSums first = model.forward(chained, part(0, 5));
  const LossSums second = model.forward(chained, part(5, 7));
  EXPECT_NEAR(whole.loss, first.loss + second.loss, 1e-5 * whole.loss);
  for (size_t i = 0; i < long_state.h.size(); ++i) {
    EXPECT_NEAR(long_state.h[i], chained.h[i], 1e-6);
    EXPECT_NEAR(long_state.c[i], chained.c[i], 1e-6);
  }
  std::vector<float> g(model.layout().size());
  model.forward_backward(g, trained, part(0, 5));
  model.forward_backward(g, trained, part(5, 7));
  for (size_t i = 0; i < long_state.h.size(); ++i) EXPECT_NEAR(long_state.h[i], trained.h[i], 1e-6);
}

// Acceptance 3: a second pass over the same window gives the same gradient, not twice it.
TEST(Tbptt, ConsecutivePassesDoNotAccumulate) {
  const ModelConfig cfg = small_lm();
  Model model(cfg, 3);
  OwnedWindow w = make_window(cfg, 6, 2, 2, 4, 19);
  const auto a = gradient(model, model.make_state(2), w.view);
  const auto b = gradient(model, model.make_state(2), w.view);
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
}

// Two updates with or without carried state; returns the second update's gradient and the
// gradient of the second window from a zero state with the same parameters.
std::pair<std::vector<float>, std::vector<float>> second_update(bool carry_state) {
  const ModelConfig cfg = small_lm();
  Model model(cfg, 3);
  TrainerConfig tc;
  tc.carry_state = carry_state;
  TruncatedTrainer trainer(model, tc, 2);
  OwnedWindow w1 = make_window(cfg, 6, 2, 0, 6, 23), w2 = make_window(cfg, 6, 2, 0, 6, 29);
  trainer.update(w1.view);
  Model fresh(cfg, 99);
  std::copy(model.params().begin(), model.params().end(), fresh.params().begin());
  trainer.update(w2.view);
  return {{trainer.grads().begin(), trainer.grads().end()}, gradient(fresh, fresh.make_state(2), w2.view)};
}

// carry_state: false resets the state at every window: the second update's gradient is that of
// the window from a zero state.
TEST(Tbptt, StatelessEqualsIndependentWindows) {
  const auto [got, from_zero] = second_update(false);
  EXPECT_EQ(0, std::memcmp(got.data(), from_zero.data(), got.size() * sizeof(float)));
}

// With carry_state: true the same second update differs (the state is not zero).
TEST(Tbptt, StatefulCarriesIntoNextWindow) {
  const auto [got, from_zero] = second_update(true);
  EXPECT_GT(max_abs_diff(got, from_zero), 1e-6);
}

// Data parallelism's premise: the summed gradient of a batch is the sum of its shards' summed
// gradients, so dividing by the global target count after the reduction reproduces one rank.
TEST(Tbptt, ShardGradientsSumToBatchGradient) {
  const ModelConfig cfg = small_lm();
  Model model(cfg, 3);
  const int T = 5, B = 4;
  OwnedWindow w = make_window(cfg, T, B, 1, 3, 31);
  const auto whole = gradient(model, model.make_state(B), w.view);
  std::vector<float> sum(whole.size(), 0.0f);
  for (int shard = 0; shard < 2; ++shard) {  // rows [2*shard, 2*shard+2)
    OwnedWindow s = w;
    s.tokens.clear(), s.target_ids.clear(), s.has_target.clear();
    for (int t = 0; t < T; ++t)
      for (int b = 2 * shard; b < 2 * shard + 2; ++b) {
        s.tokens.push_back(w.tokens[t * B + b]);
        s.target_ids.push_back(w.target_ids[t * B + b]);
        s.has_target.push_back(w.has_target[t * B + b]);
      }
    s.view.B = 2, s.view.tokens = s.tokens.data(), s.view.target_ids = s.target_ids.data(), s.view.has_target = s.has_target.data();
    const auto g = gradient(model, model.make_state(2), s.view);
    for (size_t i = 0; i < g.size(); ++i) sum[i] += g[i];
  }
  EXPECT_LT(max_abs_diff(whole, sum), 1e-5);
}

// Acceptance 5: same seed, same windows => bitwise-identical parameters after N updates.
TEST(Tbptt, SameSeedIsBitwiseReproducible) {
  const ModelConfig cfg = small_lm(Cell::lstm, 2);
  auto train = [&](uint64_t seed) {
    Model model(cfg, seed);
    TrainerConfig tc;
    tc.clip_grad_norm = 1.0;
    TruncatedTrainer trainer(model, tc, 3);
    for (int u = 0; u < 8; ++u) {
      OwnedWindow w = make_window(cfg, 7, 3, 2, 5, 100 + u);
      trainer.update(w.view);
    }
    return std::vector<float>(model.params().begin(), model.params().end());
  };
  const auto a = train(42), b = train(42), c = train(43);
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
  EXPECT_NE(0, std::memcmp(a.data(), c.data(), a.size() * sizeof(float)));
}

}  // namespace
}  // namespace tbptt::engine::testing
