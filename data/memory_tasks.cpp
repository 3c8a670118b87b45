#include "data/memory_tasks.h"

#include "common/counter_rng.h"

namespace tbptt::data {
namespace {

class DelayedRecall final : public GeneratedSource {
 public:
  explicit DelayedRecall(const SourceSpec& spec) : GeneratedSource(spec, spec.alphabet), A_(spec.alphabet), lag_(spec.lag) {}

  Shape shape() const override { return {true, A_, true, A_, 0}; }

  void fill(const RowRun& run, RowState*, Window& w) const override {
    const uint64_t stream = rng_stream(Task::delayed_recall, run.split, 0);
    auto symbol = [&](int64_t p) { return static_cast<int32_t>(rng::below(A_, seed_, stream, p)); };
    for (int t = 0; t < run.steps; ++t) {
      const int64_t p = run.position + t;
      const size_t c = cell(w, t, run.row);
      const bool recall = p - run.sequence_start >= lag_;
      w.tokens[c] = symbol(p);
      w.target_ids[c] = recall ? symbol(p - lag_) : -1;
      w.has_target[c] = recall;
    }
  }

 private:
  int A_, lag_;
};

class Adding final : public GeneratedSource {
 public:
  explicit Adding(const SourceSpec& spec) : GeneratedSource(spec, 0), L_(spec.sequence_length) {}

  Shape shape() const override { return {false, 2, false, 1, L_}; }

  void fill(const RowRun& run, RowState*, Window& w) const override {
    const uint64_t values = rng_stream(Task::adding, run.split, 0);
    const uint64_t markers = rng_stream(Task::adding, run.split, 1);
    auto value = [&](int64_t p) { return static_cast<float>(rng::uniform(seed_, values, p)); };
    const int half = L_ / 2;
    for (int t = 0; t < run.steps; ++t) {
      const int64_t p = run.position + t;
      const int64_t s = p / L_;
      const int step = static_cast<int>(p % L_);
      // Marker positions of sequence s: numbers 2s and 2s+1 of the marker stream.
      const int first = static_cast<int>(rng::below(half, seed_, markers, 2 * s));
      const int second = half + static_cast<int>(rng::below(L_ - half, seed_, markers, 2 * s + 1));
      const size_t c = cell(w, t, run.row);
      w.features[2 * c] = value(p);
      w.features[2 * c + 1] = (step == first || step == second) ? 1.0f : 0.0f;
      const bool last = step == L_ - 1;
      w.target_values[c] = last ? value(s * L_ + first) + value(s * L_ + second) : 0.0f;
      w.has_target[c] = last;
    }
  }

 private:
  int L_;
};

class Copy final : public GeneratedSource {
 public:
  explicit Copy(const SourceSpec& spec)
      : GeneratedSource(spec, spec.alphabet), A_(spec.alphabet), C_(spec.copy_length), D_(spec.delay) {
    vocabulary_.push_back("<blank>");
    vocabulary_.push_back("<go>");
  }

  Shape shape() const override { return {true, A_ + 2, true, A_, length()}; }

  void fill(const RowRun& run, RowState*, Window& w) const override {
    const uint64_t stream = rng_stream(Task::copy, run.split, 0);
    const int L = length(), blank = A_, go = A_ + 1, recall = C_ + D_ + 1;
    // Symbol i of sequence s is number s*C + i of the stream.
    auto symbol = [&](int64_t s, int i) { return static_cast<int32_t>(rng::below(A_, seed_, stream, s * C_ + i)); };
    for (int t = 0; t < run.steps; ++t) {
      const int64_t p = run.position + t;
      const int64_t s = p / L;
      const int step = static_cast<int>(p % L);
      const size_t c = cell(w, t, run.row);
      w.tokens[c] = step < C_ ? symbol(s, step) : step == C_ + D_ ? go : blank;
      w.target_ids[c] = step >= recall ? symbol(s, step - recall) : -1;
      w.has_target[c] = step >= recall;
    }
  }

 private:
  int length() const { return 2 * C_ + D_ + 1; }
  int A_, C_, D_;
};

}  // namespace

std::unique_ptr<Source> make_delayed_recall(const SourceSpec& spec) { return std::make_unique<DelayedRecall>(spec); }
std::unique_ptr<Source> make_adding(const SourceSpec& spec) { return std::make_unique<Adding>(spec); }
std::unique_ptr<Source> make_copy(const SourceSpec& spec) { return std::make_unique<Copy>(spec); }

}  // namespace tbptt::data
