#include "results/schema.h"

#include <cstdio>
#include <ctime>

#include "common/error.h"

namespace tbptt::results {

std::string_view to_string(RunStatus status) {
  switch (status) {
    case RunStatus::running: return "running";
    case RunStatus::completed: return "completed";
    case RunStatus::diverged: return "diverged";
    case RunStatus::failed: return "failed";
    case RunStatus::interrupted: return "interrupted";
  }
  return "unknown";
}

// Column order here is the order of datasets in README.md.
const std::vector<Column<TrainRow>> kTrainColumns = {
    {"update", &TrainRow::update},
    {"epoch", &TrainRow::epoch},
    {"tokens", &TrainRow::tokens},
    {"loss", &TrainRow::loss},
    {"accuracy", &TrainRow::accuracy},
    {"grad_norm", &TrainRow::grad_norm},
    {"lr", &TrainRow::lr},
    {"wall_time", &TrainRow::wall_time},
    {"tokens_per_s", &TrainRow::tokens_per_s},
    {"time_data", &TrainRow::time_data},
    {"time_forward", &TrainRow::time_forward},
    {"time_backward", &TrainRow::time_backward},
    {"time_allreduce", &TrainRow::time_allreduce},
    {"time_optimizer", &TrainRow::time_optimizer},
};

const std::vector<Column<EvalRow>> kEvalColumns = {
    {"update", &EvalRow::update},
    {"epoch", &EvalRow::epoch},
    {"split", &EvalRow::split},
    {"loss", &EvalRow::loss},
    {"perplexity", &EvalRow::perplexity},
    {"bits_per_token", &EvalRow::bits_per_token},
    {"accuracy", &EvalRow::accuracy},
    {"mse", &EvalRow::mse},
    {"targets", &EvalRow::targets},
};

const std::vector<Column<FidelityRow>> kFidelityColumns = {
    {"update", &FidelityRow::update},
    {"horizon", &FidelityRow::horizon},
    {"group", &FidelityRow::group},
    {"cosine", &FidelityRow::cosine},
    {"rel_error", &FidelityRow::rel_error},
    {"norm_truncated", &FidelityRow::norm_truncated},
    {"norm_long", &FidelityRow::norm_long},
};

namespace {

std::string padded(int64_t update) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%010lld", static_cast<long long>(update));
  return digits;
}

// "<run_id>.h5" of "<run_id>.h5" or "<run_id>.h5.part", in the same folder.
std::filesystem::path finished_name(const std::filesystem::path& run_path) {
  std::string name = run_path.filename().string();
  if (name.ends_with(".part")) name.resize(name.size() - 5);
  return run_path.parent_path() / name;
}

}  // namespace

std::string checkpoint_group(int64_t update) { return "checkpoint/" + padded(update); }

std::filesystem::path runs_dir(const std::filesystem::path& out_dir,
                               const std::string& experiment) {
  return out_dir / experiment / "runs";
}

std::filesystem::path run_file(const std::filesystem::path& out_dir, const std::string& experiment,
                               const std::string& run_id) {
  return runs_dir(out_dir, experiment) / (run_id + ".h5");
}

std::filesystem::path partial_file(const std::filesystem::path& finished) {
  return std::filesystem::path(finished).concat(".part");
}

std::filesystem::path index_file(const std::filesystem::path& out_dir,
                                 const std::string& experiment) {
  return out_dir / (experiment + ".h5");
}

std::filesystem::path checkpoint_dir(const std::filesystem::path& run_path) {
  return std::filesystem::path(finished_name(run_path)).replace_extension(".ckpt");
}

std::filesystem::path checkpoint_file(const std::filesystem::path& run_path, int64_t update) {
  return checkpoint_dir(run_path) / (padded(update) + ".h5");
}

std::filesystem::path lock_file(const std::filesystem::path& run_path) {
  return finished_name(run_path).concat(".lock");
}

void check_experiment_name(const std::string& experiment) {
  const bool usable = !experiment.empty() && experiment != "." && experiment != ".." &&
                      experiment.find_first_of("/\\") == std::string::npos;
  if (!usable)
    throw ConfigError("name", experiment, "a non-empty name without '/' or '\\' (it names files)");
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace tbptt::results
