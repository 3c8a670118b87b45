// Acceptance 1: the generated sources' targets are right by construction, reproducible from the
// seed, and the same position (or sequence) holds the same value whatever B or the rank.

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "data/dataset.h"
#include "data/signals.h"

namespace tbptt::data {
namespace {

std::vector<Window> epoch(const Dataset& ds, const WindowPlan& plan) {
  std::vector<Window> out;
  auto it = ds.windows(plan);
  Window w;
  while (it.next(w)) out.push_back(w);
  return out;
}

SourceSpec spec_of(const std::string& source, int64_t length) {
  SourceSpec spec;
  spec.source = source;
  spec.seed = 42;
  spec.length = length;
  return spec;
}

// One row's whole epoch, step by step, from back-to-back (k1 = k2) windows.
struct RowStream {
  std::vector<int32_t> tokens, targets;
  std::vector<float> features, values;  // I / O floats per step
  std::vector<uint8_t> has;
};

std::vector<RowStream> rows_of(const Dataset& ds, const WindowPlan& plan) {
  const Shape shape = ds.shape();
  std::vector<RowStream> rows(plan.batch / plan.ranks);
  for (const Window& w : epoch(ds, plan)) {
    EXPECT_EQ(w.new_from, 0);
    for (int t = 0; t < w.T; ++t)
      for (int b = 0; b < w.B; ++b) {
        const size_t c = cell(w, t, b);
        RowStream& r = rows[b];
        r.has.push_back(w.has_target[c]);
        if (shape.token_inputs) r.tokens.push_back(w.tokens[c]);
        else r.features.insert(r.features.end(), &w.features[c * shape.inputs], &w.features[(c + 1) * shape.inputs]);
        if (shape.token_targets) r.targets.push_back(w.target_ids[c]);
        else r.values.insert(r.values.end(), &w.target_values[c * shape.outputs], &w.target_values[(c + 1) * shape.outputs]);
      }
  }
  return rows;
}

TEST(DelayedRecall, TargetIsTheInputLagStepsBackWithinASequence) {
  SourceSpec spec = spec_of("delayed_recall", 4000);
  spec.lag = 7;
  spec.alphabet = 5;
  Dataset ds(spec);
  EXPECT_EQ(ds.shape().inputs, 5);
  EXPECT_TRUE(ds.shape().token_targets);
  for (int64_t seq_len : {0, 50}) {
    const auto rows = rows_of(ds, {.batch = 4, .k1 = 9, .k2 = 9, .seq_len = seq_len});
    for (const RowStream& r : rows) {
      ASSERT_EQ(r.tokens.size(), 1000u);
      for (size_t j = 0; j < r.tokens.size(); ++j) {
        const size_t into_sequence = seq_len ? j % seq_len : j;
        ASSERT_GE(r.tokens[j], 0);
        ASSERT_LT(r.tokens[j], 5);
        if (into_sequence >= 7) {
          ASSERT_EQ(r.has[j], 1);
          ASSERT_EQ(r.targets[j], r.tokens[j - 7]) << "step " << j;
        } else {
          ASSERT_EQ(r.has[j], 0);
          ASSERT_EQ(r.targets[j], -1);
        }
      }
    }
  }
}

TEST(DelayedRecall, SamePositionSameValueWhateverBatch) {
  SourceSpec spec = spec_of("delayed_recall", 4000);
  Dataset ds(spec);
  const auto one = rows_of(ds, {.batch = 1, .k1 = 10, .k2 = 10});
  const auto four = rows_of(ds, {.batch = 4, .k1 = 10, .k2 = 10});
  for (size_t b = 0; b < 4; ++b)
    for (size_t j = 0; j < 1000; ++j) {
      ASSERT_EQ(four[b].tokens[j], one[0].tokens[b * 1000 + j]);
      if (four[b].has[j]) {
        ASSERT_EQ(four[b].targets[j], one[0].targets[b * 1000 + j]);
      }
    }
}

TEST(Adding, TwoMarkersOneInEachHalfAndTheTargetIsTheirSum) {
  SourceSpec spec = spec_of("adding", 20 * 3000);
  spec.sequence_length = 20;
  Dataset ds(spec);
  EXPECT_EQ(ds.shape().inputs, 2);
  EXPECT_EQ(ds.shape().outputs, 1);
  EXPECT_EQ(ds.shape().sequence_length, 20);
  double squared_error_of_1 = 0;
  int sequences = 0;
  for (const Window& w : epoch(ds, {.batch = 4, .k1 = 20, .k2 = 20})) {
    ASSERT_EQ(w.T, 20);
    ASSERT_TRUE(w.reset);
    ASSERT_EQ(w.targets(), 4);
    for (int b = 0; b < w.B; ++b) {
      std::vector<int> marked;
      float sum = 0;
      for (int t = 0; t < 20; ++t) {
        const size_t c = cell(w, t, b);
        const float v = w.features[2 * c], m = w.features[2 * c + 1];
        ASSERT_GE(v, 0.0f);
        ASSERT_LT(v, 1.0f);
        ASSERT_TRUE(m == 0.0f || m == 1.0f);
        if (m == 1.0f) {
          marked.push_back(t);
          sum += v;
        }
        ASSERT_EQ(w.has_target[c], t == 19);
      }
      ASSERT_EQ(marked.size(), 2u);
      EXPECT_LT(marked[0], 10);
      EXPECT_GE(marked[1], 10);
      const float target = w.target_values[cell(w, 19, b)];
      ASSERT_EQ(target, sum);
      squared_error_of_1 += (target - 1.0) * (target - 1.0);
      ++sequences;
    }
  }
  EXPECT_EQ(sequences, 3000);
  EXPECT_NEAR(squared_error_of_1 / sequences, 1.0 / 6.0, 0.015) << "the baseline MSE of predicting 1";
}

TEST(Adding, SameSequenceWhateverBatchOrRank) {
  SourceSpec spec = spec_of("adding", 10 * 120);
  spec.sequence_length = 10;
  Dataset ds(spec);
  // Sequence s = window index * B + global row: collect sequence s's features for several layouts.
  auto sequences = [&](int batch, int rank, int ranks) {
    std::map<int64_t, std::vector<float>> out;
    for (const Window& w : epoch(ds, {.batch = batch, .rank = rank, .ranks = ranks, .k1 = 10, .k2 = 10}))
      for (int b = 0; b < w.B; ++b)
        for (int t = 0; t < w.T; ++t) {
          const size_t c = cell(w, t, b);
          auto& s = out[w.index * batch + rank * w.B + b];
          s.insert(s.end(), {w.features[2 * c], w.features[2 * c + 1], w.target_values[c]});
        }
    return out;
  };
  const auto reference = sequences(1, 0, 1);
  ASSERT_EQ(reference.size(), 120u);
  for (auto [batch, rank, ranks] : {std::tuple{4, 0, 1}, {5, 0, 1}, {4, 1, 2}, {8, 3, 4}}) {
    const auto other = sequences(batch, rank, ranks);
    EXPECT_FALSE(other.empty());
    for (const auto& [s, values] : other) EXPECT_EQ(values, reference.at(s)) << "sequence " << s << " B " << batch;
  }
}

TEST(Copy, LayoutIsSymbolsBlanksGoThenRecall) {
  SourceSpec spec = spec_of("copy", 14 * 100);
  spec.alphabet = 6;
  spec.copy_length = 4;
  spec.delay = 5;
  Dataset ds(spec);
  const Shape shape = ds.shape();
  EXPECT_EQ(shape.inputs, 8);
  EXPECT_EQ(shape.outputs, 6);
  EXPECT_EQ(shape.sequence_length, 14);  // 2C + D + 1
  EXPECT_EQ(ds.vocabulary().at(6), "<blank>");
  EXPECT_EQ(ds.vocabulary().at(7), "<go>");
  const int blank = 6, go = 7;
  for (const Window& w : epoch(ds, {.batch = 5, .k1 = 14, .k2 = 14})) {
    ASSERT_EQ(w.targets(), 5 * 4);
    for (int b = 0; b < w.B; ++b)
      for (int t = 0; t < 14; ++t) {
        const size_t c = cell(w, t, b);
        if (t < 4) {
          ASSERT_LT(w.tokens[c], 6);
        } else {
          ASSERT_EQ(w.tokens[c], t == 9 ? go : blank) << "t " << t;
        }
        if (t >= 10) {
          ASSERT_EQ(w.has_target[c], 1);
          ASSERT_EQ(w.target_ids[c], w.tokens[cell(w, t - 10, b)]);
        } else {
          ASSERT_EQ(w.has_target[c], 0);
          ASSERT_EQ(w.target_ids[c], -1);
        }
      }
  }
}

TEST(Generated, ReproducibleFromTheSeedAndIndependentAcrossSplits) {
  for (const char* source : {"random_tokens", "random_regression", "delayed_recall", "adding", "copy", "mackey_glass"}) {
    SCOPED_TRACE(source);
    SourceSpec spec = spec_of(source, 2000);
    spec.valid_length = 2000;
    spec.sequence_length = 10;
    spec.copy_length = 2;
    spec.delay = 5;
    const int64_t L = Dataset(spec).shape().sequence_length;
    const WindowPlan train{.batch = 2, .k1 = L ? static_cast<int>(L) : 10, .k2 = L ? static_cast<int>(L) : 10};
    WindowPlan valid = train;
    valid.split = Split::valid;
    auto inputs = [](const std::vector<Window>& ws) {
      std::vector<float> x;
      for (const auto& w : ws) {
        x.insert(x.end(), w.tokens.begin(), w.tokens.end());
        x.insert(x.end(), w.features.begin(), w.features.end());
      }
      return x;
    };
    const auto a = inputs(epoch(Dataset(spec), train));
    EXPECT_EQ(a, inputs(epoch(Dataset(spec), train))) << "same seed, same data";
    EXPECT_NE(a, inputs(epoch(Dataset(spec), valid))) << "valid is not train";
    spec.seed = 43;
    EXPECT_NE(a, inputs(epoch(Dataset(spec), train))) << "another seed, other data";
  }
}

TEST(Generated, UnionOfShardsIsByteIdenticalToOneRank) {
  for (const char* source : {"random_tokens", "random_regression", "delayed_recall", "adding", "copy", "sine", "mackey_glass"}) {
    SCOPED_TRACE(source);
    SourceSpec spec = spec_of(source, 8000);
    spec.sequence_length = 10;
    spec.copy_length = 2;
    spec.delay = 6;
    Dataset ds(spec);
    const WindowPlan whole{.batch = 8, .k1 = 5, .k2 = 10, .seq_len = 0};
    const auto reference = epoch(ds, whole);
    for (int P : {2, 4}) {
      std::vector<std::vector<Window>> shards;
      for (int r = 0; r < P; ++r) {
        WindowPlan plan = whole;
        plan.rank = r;
        plan.ranks = P;
        shards.push_back(epoch(ds, plan));
        ASSERT_EQ(shards.back().size(), reference.size());
      }
      for (size_t i = 0; i < reference.size(); ++i) {
        const Window& all = reference[i];
        // Concatenate the shards' columns back into [T][B] arrays of the whole batch.
        auto join = [&](auto member) {
          std::remove_cvref_t<decltype(all.*member)> out;
          for (int t = 0; t < all.T; ++t)
            for (int r = 0; r < P; ++r) {
              const auto& part = shards[r][i].*member;
              const size_t per_step = part.size() / all.T;  // the shard's B/P cells of one step
              out.insert(out.end(), part.begin() + t * per_step, part.begin() + (t + 1) * per_step);
            }
          return out;
        };
        ASSERT_EQ(join(&Window::tokens), all.tokens);
        ASSERT_EQ(join(&Window::features), all.features);
        ASSERT_EQ(join(&Window::target_ids), all.target_ids);
        ASSERT_EQ(join(&Window::target_values), all.target_values);
        ASSERT_EQ(join(&Window::has_target), all.has_target);
      }
    }
  }
}

TEST(Sine, NextValueOfOneWaveAcrossSplits) {
  SourceSpec spec = spec_of("sine", 1000);
  spec.period = 25;
  Dataset ds(spec);
  auto y = [](double p) { return std::sin(2 * M_PI * p / 25); };
  const auto train = rows_of(ds, {.batch = 2, .k1 = 10, .k2 = 10});
  for (int b = 0; b < 2; ++b)
    for (int j = 0; j < 500; ++j) {
      ASSERT_NEAR(train[b].features[j], y(b * 500 + j), 1e-6);
      ASSERT_NEAR(train[b].values[j], y(b * 500 + j + 1), 1e-6);
    }
  const auto valid = rows_of(ds, {.split = Split::valid, .batch = 1, .k1 = 10, .k2 = 10});
  ASSERT_NEAR(valid[0].features[0], y(1000), 1e-6) << "valid continues the wave after train";
}

TEST(MackeyGlass, FollowsTheDelayEquationAndSegmentsAreContinuous) {
  SourceSpec spec = spec_of("mackey_glass", 2 * mackey_glass_segment);
  Dataset ds(spec);
  const auto rows = rows_of(ds, {.batch = 1, .k1 = 50, .k2 = 50});
  const auto& x = rows[0].features;
  const auto& next = rows[0].values;
  ASSERT_EQ(x.size(), size_t(2 * mackey_glass_segment));
  // Inside a segment the target is the next input; across the boundary a new trajectory starts.
  for (size_t p = 0; p + 1 < x.size(); ++p)
    if ((p + 1) % mackey_glass_segment != 0) {
      ASSERT_EQ(next[p], x[p + 1]) << p;
    }
  EXPECT_NE(next[mackey_glass_segment - 1], x[mackey_glass_segment]);
  // dx/dt = 0.2 x(t-17) / (1 + x(t-17)^10) - 0.1 x(t), checked by central differences (step 1).
  double residual = 0, slope = 0;
  int n = 0;
  for (int64_t i = 20; i + 1 < mackey_glass_segment; ++i) {
    const double d = x[i - 17], rhs = 0.2 * d / (1 + std::pow(d, 10)) - 0.1 * x[i];
    residual += std::abs((x[i + 1] - x[i - 1]) / 2 - rhs);
    slope += std::abs(rhs);
    ++n;
  }
  EXPECT_GT(slope / n, 0.02) << "the series moves";
  EXPECT_LT(residual / n, 0.1 * slope / n) << "and follows the equation";
}

TEST(MackeyGlass, SamePositionSameValueWhateverBatchAndWindows) {
  SourceSpec spec = spec_of("mackey_glass", 3 * 1500);
  Dataset ds(spec);
  const auto one = rows_of(ds, {.batch = 1, .k1 = 7, .k2 = 7});
  const auto three = rows_of(ds, {.batch = 3, .k1 = 40, .k2 = 40});
  for (int b = 0; b < 3; ++b)
    for (int j = 0; j < 1500; ++j) ASSERT_EQ(three[b].features[j], one[0].features[b * 1500 + j]) << b << " " << j;
  // Overlapping windows re-read steps: the re-run part equals what the previous window read.
  auto it = ds.windows({.batch = 3, .k1 = 10, .k2 = 30});
  Window w;
  while (it.next(w))
    for (int t = 0; t < w.T; ++t)
      for (int b = 0; b < 3; ++b) {
        const int64_t j = w.index * 10 - w.new_from + t;  // row step of (t, b): new steps start at index * k1
        ASSERT_EQ(w.features[cell(w, t, b)], one[0].features[b * 1500 + j]);
      }
}

}  // namespace
}  // namespace tbptt::data
