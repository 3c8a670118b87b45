// tbptt's GEMM LSTM (engine/gemm_lstm.h) against oneDNN's RNN primitive, at a size the gradient
// tests' tiny models never reach: B x H above the point where a step's elementwise loop splits
// its units across threads, two layers, a window cut into two chunks, many steps (so an error
// carried from step to step grows), and a second window after the parameters changed (so stale
// packed weights would show). The finite-difference tests (test_gradients.cpp) check both kernels
// against the reference at the tiny size.

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/gemm_lstm.h"
#include "tests/engine/reference_model.h"

namespace tbptt::engine::testing {
namespace {

ModelConfig lm(LstmKernel kernel, Precision precision) {
  ModelConfig m;
  m.layers = 2, m.hidden = 96, m.vocab = 40, m.embedding = 24, m.outputs = 40;
  m.lstm_kernel = kernel, m.precision = precision;
  return m;
}

double relative(std::span<const float> a, std::span<const float> b) {
  const std::vector<double> exact(b.begin(), b.end());
  return relative_error(a.data(), exact.data(), exact.size());
}

struct Replica {
  Model model;
  RecurrentState state;
  std::vector<float> grads;
  Replica(LstmKernel kernel, Precision precision)
      : model(lm(kernel, precision), 3), state(model.make_state(32)), grads(model.layout().size()) {}
};

// How far the two kernels may drift apart: f32 differs by summation order only; bf16 rounds
// activations, weights and gate gradients to 8 bits of mantissa, at different points in the two.
struct Tolerance {
  double loss, grads, state;
};

void expect_kernels_agree(Precision precision, Tolerance tol) {
  Replica gemm(LstmKernel::gemm, precision), onednn(LstmKernel::primitive, precision);
  const int T = 40, B = 32;
  ASSERT_GE(int64_t{B} * gemm.model.config().hidden, GemmLstm::kParallelUnits) << "the threaded elementwise path is not reached";
  for (int window = 0; window < 2; ++window) {
    const OwnedWindow w = make_window(gemm.model.config(), T, B, /*new_from=*/10, /*carry_from=*/25, 5 + window);
    const LossSums a = gemm.model.forward_backward(gemm.grads, gemm.state, w.view);
    const LossSums b = onednn.model.forward_backward(onednn.grads, onednn.state, w.view);
    EXPECT_NEAR(a.loss, b.loss, tol.loss * std::abs(b.loss)) << "window " << window;
    for (const TensorSlot& t : gemm.model.layout().slots()) {
      const auto g = std::span<const float>(gemm.grads).subspan(t.offset, t.size);
      EXPECT_LT(relative(g, std::span<const float>(onednn.grads).subspan(t.offset, t.size)), tol.grads)
          << t.name << ", window " << window;
    }
    EXPECT_LT(relative(gemm.model.initial_state_grad().h, onednn.model.initial_state_grad().h), tol.grads);
    EXPECT_LT(relative(gemm.model.initial_state_grad().c, onednn.model.initial_state_grad().c), tol.grads);
    EXPECT_LT(relative(gemm.state.h, onednn.state.h), tol.state) << "carried h";
    EXPECT_LT(relative(gemm.state.c, onednn.state.c), tol.state) << "carried c";
    // Both take the same SGD step: the next window runs on new weights, packed anew.
    for (Replica* r : {&gemm, &onednn}) {
      std::span<float> p = r->model.params();
      for (size_t i = 0; i < p.size(); ++i) p[i] -= 0.05f * onednn.grads[i];
    }
  }
  // Evaluation (no workspace: the GEMM cell keeps its gates in the scratchpad).
  const OwnedWindow w = make_window(gemm.model.config(), T, B, 0, T, 9);
  const LossSums a = gemm.model.forward(gemm.state, w.view), b = onednn.model.forward(onednn.state, w.view);
  EXPECT_NEAR(a.loss, b.loss, tol.loss * std::abs(b.loss)) << "evaluation";
  EXPECT_LT(relative(gemm.state.h, onednn.state.h), tol.state) << "evaluated h";
}

TEST(GemmLstm, MatchesTheOnednnPrimitiveOverChunkedWindowsOnEveryThread) {
  expect_kernels_agree(Precision::f32, {1e-5, 1e-4, 1e-5});
}

TEST(GemmLstm, Bf16MatchesTheOnednnBf16Primitive) {
  if (!cpu_supports_bf16()) GTEST_SKIP() << "this CPU has no AVX512-BF16";
  expect_kernels_agree(Precision::bf16, {1e-6, 1.5e-2, 5e-4});
}

}  // namespace
}  // namespace tbptt::engine::testing
