#include "data/signals.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/check.h"
#include "common/counter_rng.h"

namespace tbptt::data {
namespace {

class Sine final : public GeneratedSource {
 public:
  explicit Sine(const SourceSpec& spec)
      : GeneratedSource(spec, 0), period_(spec.period), offset_{0, spec.length, spec.length + spec.valid_length} {}

  Shape shape() const override { return {false, 1, false, 1, 0}; }

  void fill(const RowRun& run, RowState*, Window& w) const override {
    const int64_t offset = offset_[static_cast<int>(run.split)];
    for (int t = 0; t < run.steps; ++t) {
      const int64_t q = run.position + t + offset;
      const size_t c = cell(w, t, run.row);
      w.features[c] = y(q);
      w.target_values[c] = y(q + 1);
      w.has_target[c] = 1;
    }
  }

 private:
  // fmod first keeps the phase exact for positions far beyond 2^24.
  float y(int64_t q) const {
    return static_cast<float>(std::sin(2.0 * M_PI * (std::fmod(static_cast<double>(q), period_) / period_)));
  }
  double period_;
  int64_t offset_[3];
};

// One Mackey-Glass trajectory in progress: x at substep k is ring[k % (D+1)], so the ring holds
// the last D+1 substeps, exactly the delay the next RK4 step reads (D = τ / h substeps).
struct Integrator {
  int64_t segment = -1;  // none yet
  int64_t sample = 0;    // x() is this sample of the segment
  int64_t k = 0;         // substeps since the segment's start
  std::vector<double> ring;
  double x() const { return ring[k % ring.size()]; }
};

struct MackeyGlassRow final : RowState {
  Integrator start;  // at the first step of the last window: the next window starts at or after it
  Integrator work;   // produces the values of the current window
};

class MackeyGlass final : public GeneratedSource {
 public:
  explicit MackeyGlass(const SourceSpec& spec) : GeneratedSource(spec, 0), delay_steps_(spec.tau * substeps) {}

  Shape shape() const override { return {false, 1, false, 1, 0}; }

  std::unique_ptr<RowState> new_row_state() const override {
    auto row = std::make_unique<MackeyGlassRow>();
    row->start.ring.resize(delay_steps_ + 1);
    row->work.ring.resize(delay_steps_ + 1);
    return row;
  }

  void fill(const RowRun& run, RowState* state, Window& w) const override {
    TBPTT_CHECK(state != nullptr, "mackey_glass needs the row state from new_row_state()");
    auto& row = static_cast<MackeyGlassRow&>(*state);
    seek(row.start, run.split, run.position);
    row.work = row.start;  // same sizes: copies without allocating
    for (int t = 0; t < run.steps; ++t) {
      const size_t c = cell(w, t, run.row);
      seek(row.work, run.split, run.position + t);
      w.features[c] = static_cast<float>(row.work.x());
      advance(row.work);  // to sample p % segment + 1 of the same segment (segments hold one extra)
      w.target_values[c] = static_cast<float>(row.work.x());
      w.has_target[c] = 1;
    }
  }

 private:
  static constexpr int substeps = 10;  // RK4 steps per sample: h = 0.1
  static constexpr double h = 1.0 / substeps, beta = 0.2, gamma = 0.1;

  // Brings `it` to stream position p, restarting the segment when p lies behind it or elsewhere.
  void seek(Integrator& it, Split split, int64_t p) const {
    const int64_t segment = p / mackey_glass_segment, sample = p % mackey_glass_segment;
    if (it.segment != segment || it.sample > sample) restart(it, split, segment);
    while (it.sample < sample) advance(it);
  }

  void restart(Integrator& it, Split split, int64_t segment) const {
    const double x0 = 0.5 + rng::uniform(seed_, rng_stream(Task::mackey_glass, split, 0), segment);
    std::fill(it.ring.begin(), it.ring.end(), x0);
    it.segment = segment;
    it.k = 0;
    it.sample = -mackey_glass_washout;
    while (it.sample < 0) advance(it);
  }

  static double f(double x, double delayed) {
    const double d2 = delayed * delayed, d4 = d2 * d2, d10 = d4 * d4 * d2;
    return beta * delayed / (1.0 + d10) - gamma * x;
  }

  void advance(Integrator& it) const {
    const int64_t n = delay_steps_ + 1;
    for (int s = 0; s < substeps; ++s, ++it.k) {
      const double x = it.ring[it.k % n];
      const double d0 = it.ring[(it.k + 1) % n];  // substep k - D (k - D ≡ k + 1 mod D + 1)
      const double d1 = it.ring[(it.k + 2) % n];  // substep k - D + 1
      const double dm = 0.5 * (d0 + d1);
      const double r1 = f(x, d0), r2 = f(x + 0.5 * h * r1, dm), r3 = f(x + 0.5 * h * r2, dm), r4 = f(x + h * r3, d1);
      it.ring[(it.k + 1) % n] = x + h / 6.0 * (r1 + 2 * r2 + 2 * r3 + r4);  // overwrites substep k - D, read above
    }
    ++it.sample;
  }

  int64_t delay_steps_;
};

}  // namespace

std::unique_ptr<Source> make_sine(const SourceSpec& spec) { return std::make_unique<Sine>(spec); }
std::unique_ptr<Source> make_mackey_glass(const SourceSpec& spec) { return std::make_unique<MackeyGlass>(spec); }

}  // namespace tbptt::data
