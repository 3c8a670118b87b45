#include "harness/plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <ostream>

#include "engine/model.h"
#include "harness/run_settings.h"
#include "harness/system_info.h"

namespace tbptt::harness {
namespace {

// What `tbptt run` holds beyond the plan process's own resident memory before the first window:
// MPI (its shared-memory transport, ~10 MiB), HDF5 and the open results files, oneDNN's JIT code
// and primitive caches. Measured with Open MPI 4.1, HDF5 1.10 and oneDNN 2.6 (Debian 12): a run of
// a tiny model peaks 27 MiB above the RSS `tbptt plan` starts from (tests/engine/test_memory.cpp).
constexpr int64_t kRunRuntimeBytes = 27 << 20;

// Peak resident bytes of one rank: the process as it stands (libraries) + the run's runtime
// (above) + parameters, gradients and optimizer moments, and a checkpoint of them + the weight
// copies the layers compute with + the training window's workspace, as much of it as the layers
// write (estimate_memory probes it: oneDNN's primitive writes about half of what it reserves,
// the GEMM LSTM all of it) + the largest window's
// activations and scratchpad (training, or an evaluation window in inference; the model's buffers
// serve both) + a text corpus held as int32 tokens (generated sources hold nothing).
int64_t predict_peak(const RunSettings& s, const data::Dataset& dataset, int64_t baseline) {
  const int rows = s.train.batch / s.ranks_per_run;
  const engine::MemoryEstimate train = engine::estimate_memory(s.model, s.train.k2, rows);
  const int moments = s.trainer.optimizer.kind == engine::OptimizerKind::sgd ? (s.trainer.optimizer.momentum > 0) : 2;
  auto b = [](size_t x) { return static_cast<int64_t>(x); };
  int64_t activations = b(train.activations), scratchpad = b(train.scratchpad_resident);
  for (data::Split split : s.eval_splits) {
    const data::WindowPlan p = eval_plan(s, split, 0, s.ranks_per_run);
    const engine::MemoryEstimate e = engine::estimate_memory(s.model, p.k2, p.batch / p.ranks);
    activations = std::max(activations, b(e.activations));
    scratchpad = std::max(scratchpad, b(e.inference_scratchpad_resident));
  }
  // A checkpoint (always one at the end of a run) copies parameters and moments out of the trainer,
  // then into the in-memory image of its HDF5 file, while the trainer still holds everything:
  // measured at 1.5 x (1 + moments) x the parameter bytes.
  const int64_t checkpoint = 3 * b(train.parameters) * (1 + moments) / 2;
  int64_t bytes = baseline + kRunRuntimeBytes + b(train.parameters) * (2 + moments) + checkpoint +
                  b(train.weight_copies) + b(train.workspace_resident) + activations + scratchpad;
  const std::string& source = dataset.spec().source;
  if (source == "text" || source == "brown")
    bytes += 4 * (dataset.steps(data::Split::train) + dataset.steps(data::Split::valid) + dataset.steps(data::Split::test));
  return bytes;
}

}  // namespace

// A weight update costs more than its GEMMs: primitive launches, the reorders of the weights,
// the optimizer's pass over the parameters and the collective. Measured at about 0.2 ms per update
// on this project's 2-core machine, which runs windows of k1 = 1 overhead-bound; expressed here as
// FLOPs at an assumed 50 GFLOP/s so that k1 = 1 runs are not planned as nearly free.
constexpr double kUpdateOverheadFlops = 0.2e-3 * 50e9;

std::string swept_text(const SweptValues& swept) {
  std::string s;
  for (const auto& [key, value] : swept) s += fmt::format("{}{}={}", s.empty() ? "" : " ", key.substr(key.rfind('.') + 1), value);
  return s;
}

std::vector<PlannedRun> plan_runs(const Experiment& experiment) {
  const int64_t baseline = current_rss_bytes();
  std::map<std::string, std::unique_ptr<data::Dataset>> datasets;  // by the data section's settings
  std::vector<PlannedRun> plan;
  for (size_t i = 0; i < experiment.size(); ++i) {
    const Run run = experiment.run(i);
    try {
      RunSettings s = read_settings(run);
      std::string data_key;
      for (const auto& [key, value] : run.params())
        if (key.rfind("data.", 0) == 0) data_key += key + "=" + std::visit([](const auto& v) { return fmt::format("{}", v); }, value) + "\n";
      auto& dataset = datasets[data_key];
      if (!dataset) dataset = std::make_unique<data::Dataset>(s.data);
      fit_to_data(s.model, dataset->shape());
      s.model.validate();
      data::WindowPlan train = s.train;
      train.ranks = s.ranks_per_run;
      const int64_t per_epoch = dataset->windows_per_epoch(train);
      for (data::Split split : s.eval_splits) dataset->windows_per_epoch(eval_plan(s, split, 0, s.ranks_per_run));
      PlannedRun p{i, run.run_id(), run.swept(), s.ranks_per_run, planned_updates(s, per_epoch)};
      p.flops = engine::update_flops(s.model, s.train.k2, s.train.k1, s.train.batch) * static_cast<double>(p.updates);
      p.cost = p.flops + static_cast<double>(p.updates) * kUpdateOverheadFlops;
      p.peak_bytes = predict_peak(s, *dataset, baseline);
      plan.push_back(std::move(p));
    } catch (const ConfigError& e) {
      throw experiment.located(e);
    }
  }
  return plan;
}

void print_plan(const Experiment& experiment, const std::vector<PlannedRun>& runs, std::ostream& out) {
  double max_cost = 0;
  for (const auto& r : runs) max_cost = std::max(max_cost, r.cost);
  out << fmt::format("{}: {} run{}\n", experiment.name(), runs.size(), runs.size() == 1 ? "" : "s");
  out << fmt::format("{:>4}  {:<12}  {:>5}  {:>9}  {:>10}  {:>6}  {}\n", "#", "run id", "ranks", "updates", "peak MiB",
                     "cost", "swept");
  for (const auto& r : runs)
    out << fmt::format("{:>4}  {:<12}  {:>5}  {:>9}  {:>10.1f}  {:>6.3f}  {}\n", r.index, r.run_id, r.ranks_per_run,
                       r.updates, static_cast<double>(r.peak_bytes) / (1 << 20), max_cost > 0 ? r.cost / max_cost : 0.0,
                       swept_text(r.swept).empty() ? "-" : swept_text(r.swept));
  for (const auto& skipped : experiment.skipped())
    out << fmt::format("skipped  #{} {}: {}\n", skipped.index, swept_text(skipped.swept), skipped.reason);
}

}  // namespace tbptt::harness
