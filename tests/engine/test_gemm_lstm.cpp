// tbptt's GEMM LSTM (engine/gemm_lstm.h) against oneDNN's RNN primitive, at a size the gradient
// tests' tiny models never reach: B x H above the point where a step's elementwise loop splits
// its units across threads, two layers, a window cut into two chunks, many steps (so an error
// carried from step to step grows), and a second window after the parameters changed (so stale
// packed weights would show); and the embedding folded into layer 0 against the same cell without
// it. The finite-difference tests (test_gradients.cpp) check both kernels and the fold against the
// reference at the tiny size.

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/gemm_lstm.h"
#include "tests/engine/reference_model.h"

namespace tbptt::engine::testing {
namespace {

ModelConfig lm(LstmKernel kernel, Precision precision, EmbeddingFold fold = EmbeddingFold::automatic) {
  ModelConfig m;
  m.layers = 2, m.hidden = 96, m.vocab = 40, m.embedding = 24, m.outputs = 40;
  m.lstm_kernel = kernel, m.precision = precision, m.embedding_fold = fold;
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
  explicit Replica(const ModelConfig& config) : model(config, 3), state(model.make_state(32)), grads(model.layout().size()) {}
};

// How far the two kernels may drift apart: f32 differs by summation order only; bf16 rounds
// activations, weights and gate gradients to 8 bits of mantissa, at different points in the two.
struct Tolerance {
  double loss, grads, state;
};

// The model under test against the one it must agree with, window after window and in evaluation.
void expect_models_agree(const ModelConfig& tested, const ModelConfig& exact, Tolerance tol) {
  Replica test(tested), ref(exact);
  const int T = 40, B = 32;
  ASSERT_GE(int64_t{B} * test.model.config().hidden, GemmLstm::kParallelUnits) << "the threaded elementwise path is not reached";
  for (int window = 0; window < 2; ++window) {
    const OwnedWindow w = make_window(test.model.config(), T, B, /*new_from=*/10, /*carry_from=*/25, 5 + window);
    const LossSums a = test.model.forward_backward(test.grads, test.state, w.view);
    const LossSums b = ref.model.forward_backward(ref.grads, ref.state, w.view);
    EXPECT_NEAR(a.loss, b.loss, tol.loss * std::abs(b.loss)) << "window " << window;
    for (const TensorSlot& t : test.model.layout().slots()) {
      const auto g = std::span<const float>(test.grads).subspan(t.offset, t.size);
      EXPECT_LT(relative(g, std::span<const float>(ref.grads).subspan(t.offset, t.size)), tol.grads)
          << t.name << ", window " << window;
    }
    EXPECT_LT(relative(test.model.initial_state_grad().h, ref.model.initial_state_grad().h), tol.grads);
    EXPECT_LT(relative(test.model.initial_state_grad().c, ref.model.initial_state_grad().c), tol.grads);
    EXPECT_LT(relative(test.state.h, ref.state.h), tol.state) << "carried h";
    EXPECT_LT(relative(test.state.c, ref.state.c), tol.state) << "carried c";
    // Both take the same SGD step: the next window runs on new weights, packed anew.
    for (Replica* r : {&test, &ref}) {
      std::span<float> p = r->model.params();
      for (size_t i = 0; i < p.size(); ++i) p[i] -= 0.05f * ref.grads[i];
    }
  }
  // Evaluation (no workspace: the GEMM cell keeps its gates in the scratchpad).
  const OwnedWindow w = make_window(test.model.config(), T, B, 0, T, 9);
  const LossSums a = test.model.forward(test.state, w.view), b = ref.model.forward(ref.state, w.view);
  EXPECT_NEAR(a.loss, b.loss, tol.loss * std::abs(b.loss)) << "evaluation";
  EXPECT_LT(relative(test.state.h, ref.state.h), tol.state) << "evaluated h";
}

// At this size (4V <= T*B) the GEMM cell folds the embedding: the default path is the one compared.
TEST(GemmLstm, MatchesTheOnednnPrimitiveOverChunkedWindowsOnEveryThread) {
  ASSERT_TRUE(lm(LstmKernel::gemm, Precision::f32).folds_embedding(40, 32));
  expect_models_agree(lm(LstmKernel::gemm, Precision::f32), lm(LstmKernel::primitive, Precision::f32),
                      {1e-5, 1e-4, 1e-5});
}

TEST(GemmLstm, Bf16MatchesTheOnednnBf16Primitive) {
  if (!cpu_supports_bf16()) GTEST_SKIP() << "this CPU has no AVX512-BF16";
  expect_models_agree(lm(LstmKernel::gemm, Precision::bf16), lm(LstmKernel::primitive, Precision::bf16),
                      {1e-6, 1.5e-2, 5e-4});
}

// The rule: fold where the table's products are at most a quarter of the ones they replace, and
// only a token input into an LSTM on the GEMM cell can.
TEST(EmbeddingFold, AutomaticWhereTheTableIsAQuarterOfTheRowsOrLess) {
  ModelConfig m = lm(LstmKernel::gemm, Precision::f32);  // V = 40
  EXPECT_TRUE(m.folds_embedding(4, 40));
  EXPECT_FALSE(m.folds_embedding(1, 159));
  m.embedding_fold = EmbeddingFold::never;
  EXPECT_FALSE(m.folds_embedding(100, 100));
  m.embedding_fold = EmbeddingFold::always;
  EXPECT_TRUE(m.folds_embedding(1, 1));
  EXPECT_FALSE(lm(LstmKernel::primitive, Precision::f32, EmbeddingFold::always).folds_embedding(100, 100));
  ModelConfig gru = lm(LstmKernel::gemm, Precision::f32, EmbeddingFold::always);
  gru.cell = Cell::gru;
  EXPECT_FALSE(gru.folds_embedding(100, 100));
  ModelConfig dense = lm(LstmKernel::gemm, Precision::f32, EmbeddingFold::always);
  dense.vocab = 0, dense.input = 8;
  EXPECT_FALSE(dense.folds_embedding(100, 100));
}

// The folded embedding against X0 = embedding rows through W_ih, on the same cell: f32 differs by
// summation order only.
TEST(GemmLstm, FoldedEmbeddingMatchesTheEmbeddingThroughWih) {
  expect_models_agree(lm(LstmKernel::gemm, Precision::f32, EmbeddingFold::always),
                      lm(LstmKernel::gemm, Precision::f32, EmbeddingFold::never), {1e-6, 1e-5, 1e-6});
}

// bf16: unfolded, X0 and W_ih are rounded to bf16 before their product; the folded table is made
// from both in f32 (closer to the f32 model).
TEST(GemmLstm, Bf16FoldedEmbeddingMatchesTheEmbeddingThroughWih) {
  if (!cpu_supports_bf16()) GTEST_SKIP() << "this CPU has no AVX512-BF16";
  expect_models_agree(lm(LstmKernel::gemm, Precision::bf16, EmbeddingFold::always),
                      lm(LstmKernel::gemm, Precision::bf16, EmbeddingFold::never), {1e-6, 1.5e-2, 5e-4});
}

}  // namespace
}  // namespace tbptt::engine::testing
