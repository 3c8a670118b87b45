#pragma once
// The unit of work between data and engine: one TBPTT window of this rank's shard of a batch.
//
// Every array is time-major, as oneDNN consumes it: element (t, b) of a [T][B] array is at
// t*B + b, element (t, b, i) of a [T][B][I] array at (t*B + b)*I + i.
//
//           b = 0    1   ...  B-1
//   t = 0    [ x    x   ...   x ]      tokens / target_ids / has_target: [T][B]
//   t = 1    [ x    x   ...   x ]      features: each x is I floats, target_values: O floats
//   ...
//   t = T-1  [ x    x   ...   x ]
//            └── [0, new_from) re-run overlap ──┘└── [new_from, T) new steps: their targets carry the loss
//
// The iterator refills the same Window every update (resize keeps the capacity), so the steady
// state allocates nothing.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tbptt::data {

enum class Split { train, valid, test };

const char* split_name(Split split);  // "train", "valid", "test"

// One TBPTT window of this rank's shard: everything one update needs.
struct Window {
  int T = 0;                 // steps in this window (<= k2)
  int B = 0;                 // rows of this shard
  int new_from = 0;          // steps [new_from, T) are new: their targets carry the loss; [0, new_from) is the re-run overlap
  int carry_from = 0;        // the NEXT window's initial state is the state after this many steps of this window
  bool reset = false;        // the state is zero at step 0 (a sequence start, an epoch start, a row-stream start)
  int64_t epoch = 0, index = 0;   // which epoch, which window of the epoch (the cursor of this window)
  std::vector<int32_t> tokens;        // [T][B] token inputs (token sources), else empty
  std::vector<float>   features;      // [T][B][I] real inputs (real-valued sources), else empty
  std::vector<int32_t> target_ids;    // [T][B] class targets, -1 where there is no target (token-target sources)
  std::vector<float>   target_values; // [T][B][O] real targets (regression sources); value unspecified where no target
  std::vector<uint8_t> has_target;    // [T][B] 1 where a target exists (both kinds)
  int64_t targets() const;            // number of 1s in has_target over [new_from, T)
};

// Where an iterator stands: the next window it yields is window `index` of epoch `epoch`.
// Saving it and seeking back to it resumes a run exactly.
struct Cursor {
  int64_t epoch = 0, index = 0;
  friend bool operator==(const Cursor&, const Cursor&) = default;
};

}  // namespace tbptt::data
