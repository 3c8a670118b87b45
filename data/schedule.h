#pragma once
// The TBPTT(k1, k2) window schedule of one row, in row steps j (every row of a batch follows the
// same schedule in lockstep).
//
// A row of R steps is cut into sequences of S steps (S = seq_len, the task's L, or R for an
// endless row-stream); a tail shorter than S is a short last sequence (dropped with drop_last).
// Inside a sequence starting at s0, window n has new steps [a, e), a = s0 + n*k1,
// e = min(a + k1, s0 + S), and covers [start, e), start = max(s0, a - (k2 - k1)):
//
//   k1 = 5, k2 = 20:   [0,5) [0,10) [0,15) [0,20) [5,25) [10,30) ...     new steps: the last 5
//   k1 = k2 = 5:       [0,5) [5,10) [10,15) ...                           back to back
//
// reset = (start == s0); carry_from = the next window's start - start, or T when the next window
// starts a new sequence. With drop_last a last window with fewer than k1 new steps is dropped too.
// Window i of the epoch is found in O(1): sequences before it all have the same window count.

#include <cstdint>

namespace tbptt::data {

struct Span {
  int64_t sequence_start = 0;  // s0
  int64_t start = 0;           // first step covered
  int64_t new_start = 0;       // a: first new step
  int64_t end = 0;             // e: one past the last step
  bool reset = false;
  int carry_from = 0;
};

class Schedule {
 public:
  // ConfigError on tbptt.k1 (< 1), tbptt.k2 (< k1).
  Schedule(int64_t row_steps, int64_t sequence_steps, int k1, int k2, bool drop_last);

  int64_t windows() const { return full_sequences_ * per_full_ + tail_windows_; }
  Span span(int64_t index) const;

 private:
  int64_t windows_in(int64_t sequence_steps) const;
  int64_t S_;
  int k1_, k2_;
  bool drop_last_;
  int64_t full_sequences_, per_full_;  // sequences of S steps, windows in each
  int64_t tail_steps_, tail_windows_;  // the short last sequence (0 steps when none or dropped)
};

}  // namespace tbptt::data
