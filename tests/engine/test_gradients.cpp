// Acceptance 1: the engine's gradients of every parameter tensor and of the initial state match
// central finite differences of the double-precision reference, to 1e-4 relative per tensor, for
// each cell, 1 and 2 layers, every_step and last_step heads, cross-entropy and MSE. The window has
// an overlap (new_from > 0) and is cut into two chunks (0 < carry_from < T), so the TBPTT
// machinery itself is under test, not just one oneDNN call. The f32 LSTM is checked on both of its
// kernels: tbptt's GEMM cell (the default) and oneDNN's RNN primitive; the GEMM cell's token
// models also with the embedding folded into layer 0 (too small to fold by default).

#include <gtest/gtest.h>

#include <cmath>

#include "tests/engine/reference_model.h"

namespace tbptt::engine::testing {
namespace {

struct Case {
  Cell cell;
  int layers;
  Head head;
  Loss loss;
  LstmKernel kernel = LstmKernel::gemm;
  EmbeddingFold fold = EmbeddingFold::automatic;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  const std::string kernel = c.cell == Cell::lstm && c.kernel == LstmKernel::primitive ? "_primitive" : "";
  const std::string fold = c.fold == EmbeddingFold::always ? "_folded" : "";
  return std::string(name(c.cell)) + kernel + fold + "_L" + std::to_string(c.layers) + "_" + name(c.head) + "_" +
         name(c.loss);
}

ModelConfig tiny(const Case& c) {
  ModelConfig m;
  m.cell = c.cell;
  m.layers = c.layers;
  m.hidden = 4;
  m.head = c.head;
  m.loss = c.loss;
  m.lstm_kernel = c.kernel;
  m.embedding_fold = c.fold;
  if (c.loss == Loss::cross_entropy) {  // token LM: embedding in, classes out
    m.vocab = 5, m.embedding = 3, m.outputs = 5;
  } else {                              // regression: dense features in, values out
    m.input = 3, m.outputs = 2;
  }
  m.init_scale = 0.5;  // larger than PyTorch's default so every gate is far from linear
  return m;
}

std::vector<double> to_double(std::span<const float> x) { return {x.begin(), x.end()}; }

class GradientTest : public ::testing::TestWithParam<Case> {};

TEST_P(GradientTest, MatchesFiniteDifferencesOfReference) {
  const ModelConfig cfg = tiny(GetParam());
  Model model(cfg, 7);
  const int T = 6, B = 2;
  ASSERT_EQ(cfg.folds_embedding(T, B), GetParam().fold == EmbeddingFold::always);
  OwnedWindow win = make_window(cfg, T, B, /*new_from=*/2, /*carry_from=*/3, 11);

  // A non-zero initial state, so its gradient is exercised too.
  RecurrentState state = model.make_state(B);
  for (size_t i = 0; i < state.h.size(); ++i) state.h[i] = static_cast<float>(0.3 * std::sin(1.0 + i));
  for (size_t i = 0; i < state.c.size(); ++i) state.c[i] = static_cast<float>(0.2 * std::cos(2.0 + i));
  const std::vector<double> h0 = to_double(state.h), c0 = to_double(state.c);

  std::vector<float> grads(model.layout().size(), 123.0f);  // garbage: the engine must overwrite it
  const LossSums sums = model.forward_backward(grads, state, win.view);

  const std::vector<double> P = to_double(model.params());
  const double ref = reference_loss(cfg, P, h0, c0, win.view);
  EXPECT_NEAR(sums.loss, ref, 1e-5 * std::abs(ref)) << "forward loss";

  const double step = 1e-6;
  const auto dP = finite_difference(P, step, [&](const std::vector<double>& p) { return reference_loss(cfg, p, h0, c0, win.view); });
  for (const TensorSlot& t : model.layout().slots())
    EXPECT_LT(relative_error(grads.data() + t.offset, dP.data() + t.offset, t.size), 1e-4) << t.name;

  const auto dh0 = finite_difference(h0, step, [&](const std::vector<double>& h) { return reference_loss(cfg, P, h, c0, win.view); });
  const RecurrentState& dstate = model.initial_state_grad();
  EXPECT_LT(relative_error(dstate.h.data(), dh0.data(), dh0.size()), 1e-4) << "initial h";
  if (cfg.cell == Cell::lstm) {
    const auto dc0 = finite_difference(c0, step, [&](const std::vector<double>& c) { return reference_loss(cfg, P, h0, c, win.view); });
    EXPECT_LT(relative_error(dstate.c.data(), dc0.data(), dc0.size()), 1e-4) << "initial c";
  }

  // The carried state is the reference state after carry_from steps.
  std::vector<double> h = h0, c = c0;
  reference_state(cfg, P, h, c, win.view, win.view.carry_from);
  EXPECT_LT(relative_error(state.h.data(), h.data(), h.size()), 1e-5) << "carried h";
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (Cell cell : {Cell::lstm, Cell::gru, Cell::rnn_tanh})
    for (int layers : {1, 2})
      for (Head head : {Head::every_step, Head::last_step})
        for (Loss loss : {Loss::cross_entropy, Loss::mse}) {
          cases.push_back({cell, layers, head, loss});
          if (cell != Cell::lstm) continue;
          cases.push_back({cell, layers, head, loss, LstmKernel::primitive});
          if (loss == Loss::cross_entropy) cases.push_back({cell, layers, head, loss, LstmKernel::gemm, EmbeddingFold::always});
        }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(AllModels, GradientTest, ::testing::ValuesIn(all_cases()), case_name);

}  // namespace
}  // namespace tbptt::engine::testing
