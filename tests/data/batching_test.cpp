// Acceptance 2: batchify, shard and the window schedule.
//
// PositionSource writes each step's own stream position as its token and its sequence start as
// its target, so the tests can see exactly which step landed where.

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "common/error.h"
#include "data/dataset.h"

namespace tbptt::data {
namespace {

class PositionSource final : public Source {
 public:
  PositionSource(int64_t steps, int64_t sequence_length) : steps_(steps), L_(sequence_length) {}
  Shape shape() const override { return {true, 1 << 30, true, 1 << 30, L_}; }
  int64_t steps(Split) const override { return steps_; }
  Setting size_setting(Split) const override { return {"data.length", std::to_string(steps_)}; }
  const std::vector<std::string>& vocabulary() const override { return none_; }
  void fill(const RowRun& run, RowState*, Window& w) const override {
    for (int t = 0; t < run.steps; ++t) {
      const size_t c = cell(w, t, run.row);
      w.tokens[c] = static_cast<int32_t>(run.position + t);
      w.target_ids[c] = static_cast<int32_t>(run.sequence_start);
      w.has_target[c] = 1;
    }
  }

 private:
  int64_t steps_, L_;
  std::vector<std::string> none_;
};

struct Case {
  int64_t steps, L;  // L > 0: fixed-length task
  int batch, k1, k2;
  int64_t seq_len;
  bool drop_last;
};

WindowIterator iterate(const Case& c, int rank = 0, int ranks = 1) {
  auto source = std::make_shared<PositionSource>(c.steps, c.L);
  Layout layout(c.steps, c.L, c.batch, rank, ranks, "train.batch");
  const int64_t S = c.L > 0 ? c.L : c.seq_len > 0 ? c.seq_len : layout.row_steps();
  return WindowIterator(source, Split::train, layout, Schedule(layout.row_steps(), S, c.k1, c.k2, c.drop_last));
}

// Every property the schedule promises, checked on one epoch of one case.
void check_epoch(const Case& c) {
  SCOPED_TRACE(testing::Message() << "N=" << c.steps << " L=" << c.L << " B=" << c.batch << " k1=" << c.k1
                                  << " k2=" << c.k2 << " seq_len=" << c.seq_len << " drop_last=" << c.drop_last);
  auto it = iterate(c);
  const int64_t R = it.layout().row_steps();
  const int64_t S = c.L > 0 ? c.L : c.seq_len > 0 ? c.seq_len : R;
  std::map<int64_t, int> new_seen;  // position -> times seen among new steps
  std::map<int64_t, int> seen;      // position -> times seen anywhere
  Window w, previous;
  int64_t windows = 0;
  while (it.next(w)) {
    ASSERT_EQ(w.index, windows);
    ASSERT_LE(w.T, c.k2);
    ASSERT_LE(w.T - w.new_from, c.k1);
    ASSERT_GT(w.T - w.new_from, 0);
    for (int b = 0; b < w.B; ++b) {
      const int64_t p0 = w.tokens[cell(w, 0, b)];
      const int64_t s0 = w.target_ids[cell(w, 0, b)];
      // Which row-relative step this is: the sequence start is a multiple of S in the row.
      const int64_t j0 = c.L > 0 ? (p0 / c.L / c.batch) * c.L + p0 % c.L : p0 - b * R;
      const int64_t sequence_start_j = j0 - (p0 - s0);
      EXPECT_EQ(sequence_start_j % S, 0) << "sequences start every S steps of the row";
      EXPECT_EQ(w.reset, p0 == s0) << "reset exactly at a sequence start";
      for (int t = 0; t < w.T; ++t) {
        EXPECT_EQ(w.tokens[cell(w, t, b)], p0 + t) << "a row's window is contiguous in the stream";
        EXPECT_EQ(w.target_ids[cell(w, t, b)], s0) << "a window never crosses a sequence";
        ++seen[p0 + t];
        if (t >= w.new_from) ++new_seen[p0 + t];
      }
    }
    if (windows > 0 && previous.target_ids[0] == w.target_ids[0]) {
      // Same sequence: this window starts from the previous one's state after carry_from steps.
      EXPECT_EQ(previous.tokens[0] + previous.carry_from, w.tokens[0]);
    } else if (windows > 0) {
      EXPECT_TRUE(w.reset);
      EXPECT_EQ(previous.carry_from, previous.T) << "a new sequence follows: carry_from = T";
    }
    previous = w;
    ++windows;
  }
  EXPECT_EQ(windows, it.windows_per_epoch());
  EXPECT_EQ(it.cursor(), (Cursor{1, 0}));

  // Every kept step of the trimmed batch is new exactly once.
  const int64_t per_sequence = c.drop_last ? S / c.k1 * c.k1 : S;
  const int64_t tail = c.drop_last ? 0 : R % S;
  const int64_t kept_per_row = (R / S) * per_sequence + tail;
  EXPECT_EQ(static_cast<int64_t>(new_seen.size()), kept_per_row * c.batch);
  for (auto [p, n] : new_seen) ASSERT_EQ(n, 1) << "position " << p;
  if (c.k1 == c.k2) {
    for (auto [p, n] : seen) ASSERT_EQ(n, 1) << "k1 == k2: position " << p << " appears once";
  }
}

TEST(Schedule, EveryStepIsNewExactlyOnce) {
  const std::vector<Case> cases = {
      {1000, 0, 4, 10, 10, 0, false},  {1003, 0, 4, 7, 7, 0, false},   {1003, 0, 4, 7, 7, 0, true},
      {1000, 0, 5, 5, 20, 0, false},   {997, 0, 3, 6, 15, 0, false},   {1000, 0, 4, 5, 12, 30, false},
      {1000, 0, 4, 5, 12, 32, true},   {1000, 0, 2, 7, 7, 45, false},  {1000, 0, 1, 1, 1, 0, false},
      {1000, 0, 4, 300, 300, 0, false}, {1000, 10, 4, 3, 3, 0, false}, {1000, 10, 4, 3, 8, 0, false},
      {1234, 25, 3, 25, 25, 25, false}, {1234, 25, 3, 4, 9, 0, true},
  };
  for (const auto& c : cases) check_epoch(c);
}

TEST(Schedule, OverlappingWindowsFollowTheBrief) {
  // k1 = 5, k2 = 20: [0,5) [0,10) [0,15) [0,20) [5,25) [10,30).
  auto it = iterate({1000, 0, 1, 5, 20, 0, false});
  const int starts[] = {0, 0, 0, 0, 5, 10}, ends[] = {5, 10, 15, 20, 25, 30};
  const int carries[] = {0, 0, 0, 5, 5, 5};
  Window w;
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(it.next(w));
    EXPECT_EQ(w.tokens.front(), starts[i]);
    EXPECT_EQ(w.tokens.front() + w.T, ends[i]);
    EXPECT_EQ(w.T - w.new_from, 5);
    EXPECT_EQ(w.carry_from, carries[i]);
    EXPECT_EQ(w.reset, i < 4);
  }
  // k1 = k2: back to back, the state carried from the end.
  auto same = iterate({1000, 0, 1, 5, 5, 0, false});
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(same.next(w));
    EXPECT_EQ(w.tokens.front(), 5 * i);
    EXPECT_EQ(w.new_from, 0);
    EXPECT_EQ(w.carry_from, w.T);
    EXPECT_EQ(w.reset, i == 0);
  }
}

TEST(Schedule, ResetFlagsExactlyAtSeqLenBoundaries) {
  auto it = iterate({10000, 0, 2, 4, 4, 10, false});  // rows of 5000, sequences of 10, windows 4, 4, 2
  Window w;
  int64_t i = 0;
  while (it.next(w)) {
    const int64_t j = w.tokens[0];  // row 0 starts at position 0
    EXPECT_EQ(w.reset, j % 10 == 0) << "window " << i;
    EXPECT_EQ(w.T, j % 10 == 8 ? 2 : 4);
    ++i;
  }
  EXPECT_EQ(i, 500 * 3);
}

TEST(Schedule, ShortLastWindowIsYieldedUnlessDropLast) {
  Window w;
  auto keep = iterate({23, 0, 1, 5, 5, 0, false});
  std::vector<int> T;
  while (keep.next(w)) T.push_back(w.T);
  EXPECT_EQ(T, (std::vector<int>{5, 5, 5, 5, 3}));
  auto drop = iterate({23, 0, 1, 5, 5, 0, true});
  T.clear();
  while (drop.next(w)) T.push_back(w.T);
  EXPECT_EQ(T, (std::vector<int>{5, 5, 5, 5}));
  EXPECT_EQ(w.carry_from, w.T);
}

TEST(Shard, UnionOfShardsIsTheOneRankBatch) {
  for (const Case& c : {Case{1000, 0, 8, 7, 7, 0, false}, Case{1000, 0, 4, 5, 12, 30, false},
                        Case{1000, 10, 8, 3, 8, 0, false}}) {
    for (int P : {1, 2, 4}) {
      auto whole = iterate(c);
      std::vector<WindowIterator> shards;
      for (int r = 0; r < P; ++r) shards.push_back(iterate(c, r, P));
      Window all, part;
      while (whole.next(all)) {
        for (int r = 0; r < P; ++r) {
          ASSERT_TRUE(shards[r].next(part));
          ASSERT_EQ(part.B, c.batch / P);
          ASSERT_EQ(part.T, all.T);
          ASSERT_EQ(part.new_from, all.new_from);
          ASSERT_EQ(part.carry_from, all.carry_from);
          ASSERT_EQ(part.reset, all.reset);
          for (int t = 0; t < all.T; ++t)
            for (int b = 0; b < part.B; ++b)
              ASSERT_EQ(part.tokens[cell(part, t, b)], all.tokens[cell(all, t, r * part.B + b)]);
        }
      }
      for (auto& s : shards) EXPECT_FALSE(s.next(part));
    }
  }
}

TEST(Layout, BatchifyIsContiguousRowsAndTrimsTheRemainder) {
  Layout layout(103, 0, 4, 0, 1, "train.batch");
  EXPECT_EQ(layout.row_steps(), 25);
  EXPECT_EQ(layout.position(0, 0), 0);
  EXPECT_EQ(layout.position(1, 0), 25);
  EXPECT_EQ(layout.position(3, 24), 99);
  // Fixed-length: sequence s = (j / L) * B + b.
  Layout fixed(1000, 10, 4, 1, 2, "train.batch");
  EXPECT_EQ(fixed.row_steps(), 250);  // 100 sequences, 25 batches of 4
  EXPECT_EQ(fixed.first_row(), 2);
  EXPECT_EQ(fixed.position(2, 3), 2 * 10 + 3);
  EXPECT_EQ(fixed.position(1, 13), (4 + 1) * 10 + 3);
}

TEST(Cursor, SeekResumesWithTheSameWindow) {
  SourceSpec spec;
  spec.source = "mackey_glass";  // has per-row state: a seek must not depend on it
  spec.length = 20000;
  Dataset ds(spec);
  const WindowPlan plan{.split = Split::train, .batch = 4, .k1 = 10, .k2 = 25};
  auto straight = ds.windows(plan);
  Window w, resumed_w;
  std::vector<Window> seen;
  for (int e = 0; e < 2; ++e)
    while (straight.next(w)) seen.push_back(w);
  const int64_t per_epoch = ds.windows_per_epoch(plan);
  ASSERT_EQ(static_cast<int64_t>(seen.size()), 2 * per_epoch);
  for (int64_t i : {int64_t{0}, int64_t{7}, per_epoch - 1, per_epoch + 3}) {
    auto resumed = ds.windows(plan);
    resumed.seek({i / per_epoch, i % per_epoch});
    ASSERT_TRUE(resumed.next(resumed_w));
    EXPECT_EQ(resumed_w.epoch, i / per_epoch);
    EXPECT_EQ(resumed_w.index, i % per_epoch);
    EXPECT_EQ(resumed_w.features, seen[i].features) << "window " << i;
    EXPECT_EQ(resumed_w.target_values, seen[i].target_values);
  }
}

TEST(Errors, BadBatchesAndTruncationsNameTheirKey) {
  SourceSpec spec;
  spec.source = "random_tokens";
  spec.length = 100;
  spec.valid_length = 5;
  Dataset ds(spec);
  auto key_of = [&](WindowPlan plan) {
    try {
      ds.windows_per_epoch(plan);
    } catch (const ConfigError& e) {
      return e.setting();
    }
    return std::string("no error");
  };
  EXPECT_EQ(key_of({.batch = 6, .ranks = 4, .k1 = 5, .k2 = 5}), "train.batch");  // not divisible by P
  EXPECT_EQ(key_of({.batch = 101, .k1 = 5, .k2 = 5}), "train.batch");            // rows of 0 steps
  EXPECT_EQ(key_of({.split = Split::valid, .batch = 10, .k1 = 5, .k2 = 5}), "eval.batch");
  EXPECT_EQ(key_of({.batch = 4, .k1 = 0, .k2 = 5}), "tbptt.k1");
  EXPECT_EQ(key_of({.batch = 4, .k1 = 5, .k2 = 4}), "tbptt.k2");
  EXPECT_EQ(key_of({.batch = 4, .k1 = 5, .k2 = 5, .seq_len = -1}), "tbptt.seq_len");
  EXPECT_EQ(key_of({.batch = 4, .k1 = 30, .k2 = 30, .drop_last = true}), "data.length");  // rows of 25
  EXPECT_EQ(key_of({.batch = 4, .k1 = 30, .k2 = 30}), "no error");  // one short window per row

  spec.source = "adding";
  spec.sequence_length = 10;
  Dataset adding(spec);
  EXPECT_EQ(adding.windows_per_epoch({.batch = 2, .k1 = 10, .k2 = 10, .seq_len = 10}), 5);
  EXPECT_THROW(adding.windows_per_epoch({.batch = 2, .k1 = 10, .k2 = 10, .seq_len = 20}), ConfigError);
  EXPECT_THROW(adding.windows_per_epoch({.batch = 11, .k1 = 10, .k2 = 10}), ConfigError);  // 10 sequences
}

}  // namespace
}  // namespace tbptt::data
