#pragma once
// A Source is one data set as random-access streams, one per split: step p of a split has an
// input and (maybe) a target, each a pure function of (spec, split, p). The Layout decides which
// positions a batch row reads, the Schedule which steps a window covers; the Source only fills
// values, so every source gets batchify, shard and windows for free, and any position can be
// produced on any rank.

#include <cstdint>
#include <memory>
#include <string>
#include <array>
#include <vector>

#include "data/source_spec.h"
#include "data/window.h"

namespace tbptt::data {

// What the model sees and predicts.
struct Shape {
  bool token_inputs = false;   // inputs are ids in [0, inputs) (else vectors of `inputs` floats)
  int inputs = 0;              // V or I
  bool token_targets = false;  // targets are class ids in [0, outputs) (else vectors of `outputs` floats)
  int outputs = 0;             // classes or O
  int64_t sequence_length = 0; // L of a fixed-length task (adding, copy), 0 for streams
};

// One row's part of a window: `steps` consecutive stream positions from `position`, written to
// column `row` of the Window. Windows never cross a sequence, so the run lies inside the sequence
// that started (with a state reset) at `sequence_start`.
struct RowRun {
  Split split = Split::train;
  int64_t sequence_start = 0;
  int64_t position = 0;
  int steps = 0;
  int row = 0;
};

// Per-row memory a source may keep between windows (mackey_glass keeps its integrator so the next
// window continues instead of re-integrating). Owned by the iterator, one per row of its shard.
struct RowState {
  virtual ~RowState() = default;
};

// A setting as the user wrote it, to name in a ConfigError.
struct Setting {
  std::string key, value;
};

class Source {
 public:
  virtual ~Source() = default;
  virtual Shape shape() const = 0;
  virtual int64_t steps(Split split) const = 0;
  // The setting that decides how many steps `split` has (named when a split is too small).
  virtual Setting size_setting(Split split) const = 0;
  // Names of the input ids in id order; empty for real-valued inputs.
  virtual const std::vector<std::string>& vocabulary() const = 0;
  virtual std::unique_ptr<RowState> new_row_state() const { return nullptr; }
  // Writes every element of column run.row for t in [0, run.steps): the input, the target and
  // has_target (target_ids -1 and target_values 0 where there is no target).
  virtual void fill(const RowRun& run, RowState* state, Window& w) const = 0;
};

// The counter-RNG stream of one field of one task in one split: no two share a number, so the
// train, valid and test streams of a seed are independent.
enum class Task : uint64_t { random_tokens = 1, random_regression, delayed_recall, adding, copy, mackey_glass };
constexpr uint64_t rng_stream(Task task, Split split, uint64_t field) {
  return (static_cast<uint64_t>(task) << 16) | (static_cast<uint64_t>(split) << 8) | field;
}

// Index of element (t, row) of a [T][B] array of the window.
inline size_t cell(const Window& w, int t, int row) { return static_cast<size_t>(t) * w.B + row; }

// The common part of the generated sources: the seed and data.length / valid_length / test_length.
class GeneratedSource : public Source {
 public:
  int64_t steps(Split split) const override { return steps_[static_cast<int>(split)]; }
  Setting size_setting(Split split) const override;
  const std::vector<std::string>& vocabulary() const override { return vocabulary_; }

 protected:
  // Token sources name their ids "0" .. "n-1" (n = vocabulary_size); real-valued ones pass 0.
  GeneratedSource(const SourceSpec& spec, int vocabulary_size);
  uint64_t seed_;
  std::vector<std::string> vocabulary_;

 private:
  std::array<int64_t, 3> steps_;
};

}  // namespace tbptt::data
