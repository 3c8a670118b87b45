// Acceptance 4 (second half): optimizer steps against values computed by hand from the update
// rules of torch.optim; gradient clipping; learning-rate schedules.

#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>
#include <limits>

#include "common/error.h"
#include "engine/denormals.h"
#include "engine/optimizer.h"
#include "engine/parallel.h"
#include "engine/schedule.h"
#include "engine/trainer.h"
#include "tests/engine/reference_model.h"

namespace tbptt::engine::testing {
namespace {

TEST(Optimizer, SgdMomentumWeightDecayByHand) {
  OptimizerConfig c;
  c.kind = OptimizerKind::sgd, c.momentum = 0.9, c.weight_decay = 0.01;
  Optimizer opt(c, 2);
  std::vector<float> p = {1.0f, -2.0f};
  const std::vector<float> g = {0.5f, 0.25f};
  // Step 1: d = g + 0.01 p = (0.51, 0.23); buf = d; p -= 0.1 d  -> (0.949, -2.023)
  opt.step(p, g, 1.0, 0.1);
  EXPECT_NEAR(p[0], 0.949, 1e-6);
  EXPECT_NEAR(p[1], -2.023, 1e-6);
  // Step 2: d = (0.50949, 0.22977); buf = 0.9 (0.51, 0.23) + d = (0.96849, 0.43677); p -= 0.1 buf
  opt.step(p, g, 1.0, 0.1);
  EXPECT_NEAR(p[0], 0.852151, 1e-6);
  EXPECT_NEAR(p[1], -2.066677, 1e-6);
}

TEST(Optimizer, SgdNesterovByHand) {
  OptimizerConfig c;
  c.kind = OptimizerKind::sgd, c.momentum = 0.9, c.nesterov = true;
  Optimizer opt(c, 1);
  std::vector<float> p = {1.0f};
  // d = 0.5; buf = 0.5; nesterov d' = d + 0.9 buf = 0.95; p = 1 - 0.1 * 0.95
  opt.step(p, std::vector<float>{0.5f}, 1.0, 0.1);
  EXPECT_NEAR(p[0], 0.905, 1e-6);
}

TEST(Optimizer, GradScaleFoldsAveragingIntoTheStep) {
  OptimizerConfig c;
  c.kind = OptimizerKind::sgd;
  Optimizer opt(c, 1);
  std::vector<float> p = {0.0f};
  opt.step(p, std::vector<float>{8.0f}, 0.25, 0.5);  // p -= 0.5 * 8 * 0.25
  EXPECT_FLOAT_EQ(p[0], -1.0f);
}

TEST(Optimizer, AdamByHand) {
  Optimizer opt(OptimizerConfig{}, 1);  // adam, b1 0.9, b2 0.999, eps 1e-8
  std::vector<float> p = {1.0f};
  // Step 1: m = 0.05, v = 0.00025; m/(1-0.9) = 0.5, sqrt(v/(1-0.999)) = 0.5 -> p = 1 - 0.1 * 0.5/(0.5 + 1e-8)
  opt.step(p, std::vector<float>{0.5f}, 1.0, 0.1);
  EXPECT_NEAR(p[0], 0.900000002, 1e-7);
  // Step 2 (g = -0.25): m = 0.02, v = 0.00031225; p -= 0.1 * (0.02/0.19) / (sqrt(0.00031225/0.001999) + 1e-8)
  opt.step(p, std::vector<float>{-0.25f}, 1.0, 0.1);
  EXPECT_NEAR(p[0], 0.8733662987, 1e-6);
  EXPECT_EQ(opt.steps(), 2);
}

TEST(Optimizer, AdamWDecaysDecoupled) {
  OptimizerConfig c;
  c.kind = OptimizerKind::adamw, c.weight_decay = 0.1;
  Optimizer opt(c, 1);
  std::vector<float> p = {1.0f};
  opt.step(p, std::vector<float>{0.5f}, 1.0, 0.1);  // p = 1 * (1 - 0.1 * 0.1) - 0.1 (Adam's first step)
  EXPECT_NEAR(p[0], 0.89, 1e-6);
}

TEST(Optimizer, RejectsImpossibleSettings) {
  OptimizerConfig c;
  c.lr = 0;
  EXPECT_THROW(Optimizer(c, 1), ConfigError);
  c = OptimizerConfig{};
  c.nesterov = true;  // adam
  try {
    Optimizer(c, 1);
    FAIL() << "nesterov with adam accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.setting(), "train.optimizer.nesterov");
  }
  EXPECT_THROW(optimizer_kind("adagrad"), ConfigError);
}

TEST(Optimizer, GlobalNormIsTheL2Norm) {
  const std::vector<float> g = {3.0f, 4.0f, 0.0f, 12.0f};
  EXPECT_DOUBLE_EQ(global_norm(g, 1.0), 13.0);
  EXPECT_DOUBLE_EQ(global_norm(g, 0.5), 6.5);
}

// Ranks on one node share the parameters and the optimizer state, and each steps its own shard
// (harness/shared_step.h): optimizers over one state buffer, each stepping a shard, must give the
// bits of one optimizer stepping everything, for every rule.
TEST(Optimizer, ShardsSteppedOverSharedStateEqualOneWholeStep) {
  OptimizerConfig adam, adamw, momentum;
  adamw.kind = OptimizerKind::adamw, adamw.weight_decay = 0.01;
  momentum.kind = OptimizerKind::sgd, momentum.momentum = 0.9, momentum.weight_decay = 1e-3;
  const size_t n = 50003;  // over kParallelMin, not a multiple of the vector width
  const std::vector<Shard> shards = {{0, 16384}, {16384, 33335}, {33335, n}};  // one unaligned boundary
  for (const OptimizerConfig& c : {adam, adamw, momentum}) {
    Optimizer whole(c, n);
    std::vector<float> shared_state(Optimizer::state_size(c, n));
    std::vector<Optimizer> ranks;
    for (size_t r = 0; r < shards.size(); ++r) ranks.emplace_back(c, n, shared_state);
    std::vector<float> p(n), g(n);
    for (size_t i = 0; i < n; ++i) p[i] = std::sin(0.1 * static_cast<double>(i));
    std::vector<float> q = p;
    for (int step = 1; step <= 3; ++step) {
      for (size_t i = 0; i < n; ++i) g[i] = static_cast<float>(std::cos(0.37 * static_cast<double>(i * step)));
      whole.step(p, g, 0.5, 0.01);
      for (size_t r = 0; r < shards.size(); ++r) ranks[r].step(q, g, 0.5, 0.01, shards[r]);
    }
    ASSERT_EQ(p, q) << name(c.kind);
    std::vector<float> whole_state;
    for (const auto& [buffer, values] : whole.state()) whole_state.insert(whole_state.end(), values.begin(), values.end());
    EXPECT_EQ(whole_state, shared_state) << name(c.kind);
    EXPECT_EQ(ranks[0].steps(), whole.steps());
  }
}

TEST(Optimizer, StorageOfTheWrongSizeIsRefused) {
  std::vector<float> state(3);
  EXPECT_THROW(Optimizer(OptimizerConfig{}, 2, state), std::invalid_argument);  // adam needs 2 x 2
}

// The shared-memory gradient sum: replicas added in order, into any of them, on the shard only,
// returning the sum of squares of what it wrote.
TEST(SumReplicas, AddsInReplicaOrderIntoAnyReplicaOnTheShardOnly) {
  const size_t n = 40000;
  std::vector<std::vector<float>> r(3, std::vector<float>(n));
  for (size_t i = 0; i < n; ++i) {  // order matters: (a + b) + c != a + (b + c) for these
    r[0][i] = 1e8f + static_cast<float>(i);
    r[1][i] = -1e8f;
    r[2][i] = 0.25f + static_cast<float>(i % 7);
  }
  std::vector<float> expected(n);
  for (size_t i = 0; i < n; ++i) expected[i] = (r[0][i] + r[1][i]) + r[2][i];
  const std::vector<float> untouched = r[2];
  const Shard shard{37, 39999};
  const float* replicas[] = {r[0].data(), r[1].data(), r[2].data()};
  const double squares = sum_replicas(r[2].data(), replicas, shard);
  double expected_squares = 0;
  for (size_t i = shard.begin; i < shard.end; ++i) expected_squares += static_cast<double>(expected[i]) * expected[i];
  EXPECT_NEAR(squares, expected_squares, 1e-12 * expected_squares);
  for (size_t i = 0; i < n; ++i) {
    const bool inside = i >= shard.begin && i < shard.end;
    ASSERT_EQ(r[2][i], inside ? expected[i] : untouched[i]) << i;
  }
  EXPECT_NE(expected[1000], r[0][1000] + (r[1][1000] + untouched[1000]));  // the test can tell the orders apart
}

// The trainer clips as torch.nn.utils.clip_grad_norm_ does and reports the norm before clipping.
TEST(Trainer, ClipsToTheMaximumNorm) {
  ModelConfig m;
  m.hidden = 6, m.vocab = 5, m.embedding = 4, m.outputs = 5;
  Model model(m, 1);
  TrainerConfig tc;
  tc.optimizer.kind = OptimizerKind::sgd, tc.optimizer.lr = 1.0, tc.clip_grad_norm = 1e-3;
  TruncatedTrainer trainer(model, tc, 2);
  OwnedWindow w = make_window(m, 5, 2, 0, 5, 3);
  const std::vector<float> before(model.params().begin(), model.params().end());
  const UpdateStats s = trainer.update(w.view);
  const double expected_norm = global_norm(trainer.grads(), 1.0 / static_cast<double>(s.targets));
  EXPECT_DOUBLE_EQ(s.grad_norm, expected_norm);
  ASSERT_GT(s.grad_norm, 1e-3);
  double moved = 0;
  for (size_t i = 0; i < before.size(); ++i) moved += std::pow(model.params()[i] - before[i], 2);
  EXPECT_NEAR(std::sqrt(moved), 1e-3 * s.grad_norm / (s.grad_norm + 1e-6), 1e-7);
}

// Once a Model exists, every OpenMP thread computes with denormals flushed (engine/denormals.h):
// Adam's moments decaying through the denormal range become 0 instead of taking a microcode
// assist per operation.
TEST(Optimizer, DenormalMomentsFlushToZeroOnEveryThreadOnceAModelExists) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "the flush is set through x86-64's MXCSR";
#else
  const float tiny = std::numeric_limits<float>::denorm_min() * 1000;  // about 1.4e-42
  volatile float product = tiny;
  product = product * 0.5f;
  ASSERT_NE(product, 0.0f) << "this process flushes denormals already: the test could not fail";

  ModelConfig m;
  m.hidden = 4, m.vocab = 5, m.embedding = 3, m.outputs = 5;
  const Model model(m, 1);
  std::vector<unsigned> flags(static_cast<size_t>(omp_get_max_threads()), 0);
#pragma omp parallel num_threads(omp_get_max_threads())
  flags[static_cast<size_t>(omp_get_thread_num())] = _mm_getcsr() & (kMxcsrFlushToZero | kMxcsrDenormalsAreZero);
  for (size_t t = 0; t < flags.size(); ++t) EXPECT_EQ(flags[t], kMxcsrFlushToZero | kMxcsrDenormalsAreZero) << "thread " << t;

  // A step big enough for every thread: moments 0.9 * tiny and 0.999 * tiny would be denormal.
  const size_t n = 4 * kParallelMin;
  OptimizerConfig c;  // Adam
  std::vector<float> state(Optimizer::state_size(c, n)), p(n, 1.0f), g(n, 0.0f);
  Optimizer opt(c, n, state);
  std::fill(state.begin(), state.end(), tiny);
  opt.step(p, g, 1.0, 1e-3);
  for (size_t i = 0; i < state.size(); ++i) ASSERT_EQ(state[i], 0.0f) << i;
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(p[i], 1.0f) << i;
#endif
}

TEST(Schedule, StepDecaysAfterEpoch) {
  ScheduleConfig c;
  c.kind = ScheduleKind::step, c.after_epoch = 2, c.factor = 0.5;
  LrSchedule s(c, 1.0, 100);
  s.on_epoch_end(1);
  EXPECT_DOUBLE_EQ(s.lr(), 1.0);
  s.on_epoch_end(2);
  EXPECT_DOUBLE_EQ(s.lr(), 0.5);
  s.on_epoch_end(3);
  EXPECT_DOUBLE_EQ(s.lr(), 0.25);
}

TEST(Schedule, PlateauWaitsForPatience) {
  ScheduleConfig c;
  c.kind = ScheduleKind::plateau, c.factor = 0.25, c.patience = 1;
  LrSchedule s(c, 1.0, 100);
  s.on_eval(1.0);
  s.on_eval(1.1);  // one bad evaluation: within patience
  EXPECT_DOUBLE_EQ(s.lr(), 1.0);
  s.on_eval(1.2);  // two in a row: decay
  EXPECT_DOUBLE_EQ(s.lr(), 0.25);
  s.on_eval(0.9);
  EXPECT_DOUBLE_EQ(s.lr(), 0.25);
}

TEST(Schedule, CosineWithWarmup) {
  ScheduleConfig c;
  c.kind = ScheduleKind::cosine, c.warmup = 2, c.min_lr = 0.1;
  LrSchedule s(c, 1.0, 10);
  EXPECT_DOUBLE_EQ(s.lr(), 0.5);  // first update: 1/2 of the warm-up
  s.on_update(1);
  EXPECT_DOUBLE_EQ(s.lr(), 1.0);
  s.on_update(6);  // half way through the 8 cosine updates
  EXPECT_NEAR(s.lr(), 0.55, 1e-12);
  s.on_update(10);
  EXPECT_NEAR(s.lr(), 0.1, 1e-12);
}

}  // namespace
}  // namespace tbptt::engine::testing
