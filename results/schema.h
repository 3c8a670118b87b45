#pragma once
// The run-file schema in code: the rows of train/, eval/ and fidelity/, a checkpoint, the run
// status, and where files live. results/README.md is the same schema in prose; keep them equal.
//
//   <out_dir>/<experiment>.h5                  index: links to every run + summary/ table
//   <out_dir>/<experiment>/runs/<run_id>.h5    a finished run (status written, file closed)
//   <out_dir>/<experiment>/runs/<run_id>.h5.part   a run being written, or killed while written
//   <out_dir>/<experiment>/runs/<run_id>.ckpt/<update>.h5   one checkpoint, linked from the run
//   <out_dir>/<experiment>/runs/<run_id>.h5.lock   held (flock) by the run's live writer
//
// Each table is a group of equal-length 1-D columns, one row per record. A Column names a
// dataset and the Row member it holds, so writer and reader share one description per table.

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "results/value.h"

namespace tbptt::results {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
inline constexpr int64_t kSchemaVersion = 2;  // root attribute `schema_version` (2: checkpoint files)

enum class RunStatus { running, completed, diverged, failed, interrupted };
std::string_view to_string(RunStatus status);

// Which stream an evaluation ran over; stored as int8 with attribute `labels` = its names.
enum class Split : int8_t { train = 0, valid = 1, test = 2 };
inline const std::vector<std::string> kSplitLabels = {"train", "valid", "test"};

// train/: one row per weight update. Times are seconds; `tokens` counts targets over all ranks.
struct TrainRow {
  int64_t update = 0, epoch = 0, tokens = 0;
  double loss = kNaN, accuracy = kNaN, grad_norm = kNaN, lr = kNaN;
  double wall_time = kNaN, tokens_per_s = kNaN;
  double time_data = kNaN, time_forward = kNaN, time_backward = kNaN, time_allreduce = kNaN,
         time_optimizer = kNaN;
};

// eval/: one row per evaluation of one split. Metrics that do not apply to the task are NaN.
struct EvalRow {
  int64_t update = 0, epoch = 0;
  Split split = Split::valid;
  double loss = kNaN, perplexity = kNaN, bits_per_token = kNaN, accuracy = kNaN, mse = kNaN;
  int64_t targets = 0;
};

// fidelity/: the truncated gradient against a longer-horizon one, per parameter group.
// `group` indexes RunOptions::fidelity_groups (stored as attribute `labels` of fidelity/group).
struct FidelityRow {
  int64_t update = 0, horizon = 0, group = 0;
  double cosine = kNaN, rel_error = kNaN, norm_truncated = kNaN, norm_long = kNaN;
};

template <class Row>
struct Column {
  const char* name;
  std::variant<int64_t Row::*, double Row::*, Split Row::*> member;
};

extern const std::vector<Column<TrainRow>> kTrainColumns;
extern const std::vector<Column<EvalRow>> kEvalColumns;
extern const std::vector<Column<FidelityRow>> kFidelityColumns;

// A float32 array with a PyTorch shape, e.g. rnn.weight_ih_l0 [4H, I]; values row-major.
struct Tensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

// Everything needed to continue a run from update `update`: rows up to and including `update`
// belong to it. `extra` carries scalars the trainer needs back (optimizer step, RNG keys, ...).
struct Checkpoint {
  int64_t update = 0, epoch = 0, window = 0, tokens = 0;
  std::vector<Tensor> state_dict;  // checkpoint/<u>/state_dict/<pytorch name> (through the link)
  std::vector<Tensor> optimizer;   // checkpoint/<u>/optimizer/<name>, flat (m, v, momentum)
  std::vector<Tensor> state;       // checkpoint/<u>/state/<name>, carried state (h, c) [L, B, H]
  Attributes extra;
};

// "checkpoint/0000000120": updates zero-padded to 10 digits so names sort as numbers.
std::string checkpoint_group(int64_t update);

std::filesystem::path runs_dir(const std::filesystem::path& out_dir, const std::string& experiment);
std::filesystem::path run_file(const std::filesystem::path& out_dir, const std::string& experiment,
                               const std::string& run_id);  // the finished name, <run_id>.h5
std::filesystem::path partial_file(const std::filesystem::path& finished);  // <run_id>.h5.part
std::filesystem::path index_file(const std::filesystem::path& out_dir, const std::string& experiment);
// Files beside a run file; `run_path` may be the finished or the .part name.
std::filesystem::path checkpoint_dir(const std::filesystem::path& run_path);  // <run_id>.ckpt
std::filesystem::path checkpoint_file(const std::filesystem::path& run_path,
                                      int64_t update);  // <run_id>.ckpt/0000000120.h5
std::filesystem::path lock_file(const std::filesystem::path& run_path);  // <run_id>.h5.lock

// Throws ConfigError (setting "name") unless `experiment` is usable as a file and link name.
void check_experiment_name(const std::string& experiment);

// Current time as ISO 8601 UTC with seconds: 2026-11-25T01:18:34Z.
std::string utc_now();

}  // namespace tbptt::results
