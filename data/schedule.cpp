#include "data/schedule.h"

#include <algorithm>
#include <string>

#include "common/check.h"
#include "common/error.h"

namespace tbptt::data {

Schedule::Schedule(int64_t row_steps, int64_t sequence_steps, int k1, int k2, bool drop_last)
    : S_(sequence_steps), k1_(k1), k2_(k2), drop_last_(drop_last) {
  if (k1 < 1) throw ConfigError("tbptt.k1", std::to_string(k1), "an integer >= 1");
  if (k2 < k1) throw ConfigError("tbptt.k2", std::to_string(k2), "an integer >= tbptt.k1 (" + std::to_string(k1) + ")");
  TBPTT_CHECK(row_steps >= 1 && sequence_steps >= 1, "rows and sequences have steps");
  full_sequences_ = row_steps / S_;
  per_full_ = windows_in(S_);
  tail_steps_ = drop_last ? 0 : row_steps % S_;
  tail_windows_ = windows_in(tail_steps_);
}

int64_t Schedule::windows_in(int64_t sequence_steps) const {
  return drop_last_ ? sequence_steps / k1_ : (sequence_steps + k1_ - 1) / k1_;
}

Span Schedule::span(int64_t index) const {
  TBPTT_CHECK(index >= 0 && index < windows(), "window " + std::to_string(index) + " of " + std::to_string(windows()));
  const bool in_full = index < full_sequences_ * per_full_;
  const int64_t sequence = in_full ? index / per_full_ : full_sequences_;
  const int64_t n = in_full ? index % per_full_ : index - full_sequences_ * per_full_;
  const int64_t S = in_full ? S_ : tail_steps_;
  const int64_t count = in_full ? per_full_ : tail_windows_;

  const int64_t overlap = k2_ - k1_;
  Span w;
  w.sequence_start = sequence * S_;
  w.new_start = w.sequence_start + n * k1_;
  w.end = std::min(w.new_start + k1_, w.sequence_start + S);
  w.start = std::max(w.sequence_start, w.new_start - overlap);
  w.reset = w.start == w.sequence_start;
  const bool last = n == count - 1;  // the next window starts a new sequence
  w.carry_from = static_cast<int>(last ? w.end - w.start : std::max<int64_t>(0, w.end - overlap - w.start));
  return w;
}

}  // namespace tbptt::data
