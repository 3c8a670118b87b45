#include "tests/results/synthetic_sweep.h"

#include <cmath>
#include <cstdio>

#include "common/counter_rng.h"
#include "results/run_writer.h"
#include "results/sweep_index.h"

namespace tbptt::results::testing {

std::vector<SyntheticRun> synthetic_grid() {
  std::vector<SyntheticRun> grid;
  for (int64_t k1 : {5, 20, 100})
    for (int64_t batch : {16, 64})
      for (int64_t seed : {1, 2}) grid.push_back({k1, batch, seed});
  return grid;
}

std::string run_id(const SyntheticRun& run) {
  char id[64];
  std::snprintf(id, sizeof id, "k%lld-b%lld-s%lld", static_cast<long long>(run.k1),
                static_cast<long long>(run.batch), static_cast<long long>(run.seed));
  return id;
}

double valid_floor(const SyntheticRun& run) {
  return 1.0 + 1.0 / run.k1 + run.batch / 1000.0 + run.seed / 1000.0;
}

double valid_loss(const SyntheticRun& run, int64_t update) {
  return valid_floor(run) + std::exp(-update / 10.0) + (update == kUpdates ? 0.05 : 0.0);
}

double train_loss(const SyntheticRun& run, int64_t update) {
  return valid_floor(run) - 0.05 + 2.0 * std::exp(-update / 10.0);
}

double final_valid_loss(const SyntheticRun& run) { return valid_loss(run, kUpdates); }
double best_valid_loss(const SyntheticRun& run) { return valid_loss(run, kUpdates - kEvalEvery); }

double tokens_per_s(const SyntheticRun& run) {
  return 100.0 * run.batch * run.k1 / (run.k1 + 10.0);
}

int64_t peak_rss_bytes(const SyntheticRun& run) { return 100'000'000 + 1'000'000 * run.k1 * run.batch; }

double cosine(const SyntheticRun& run, int64_t group) { return 1.0 - (group + 1.0) / run.k1; }

Attributes run_attributes(const SyntheticRun& run) {
  const std::string config = "name: synthetic\nseed: " + std::to_string(run.seed) +
                             "\ntbptt: {k1: " + std::to_string(run.k1) + ", k2: " +
                             std::to_string(run.k1) + "}\ntrain: {batch: " +
                             std::to_string(run.batch) + "}\n";
  return {
      {"config", config},
      {"seed", run.seed},
      {"tbptt.k1", run.k1},
      {"tbptt.k2", run.k1},
      {"tbptt.carry_state", true},
      {"tbptt.seq_len", int64_t{0}},
      {"train.batch", run.batch},
      {"train.optimizer.lr", 0.002},
      {"model.cell", std::string("lstm")},
      {"model.layers", int64_t{1}},
      {"model.hidden", int64_t{8}},
      {"model.embedding", int64_t{4}},
      {"data.level", std::string("char")},
      {"swept", std::vector<std::string>{"tbptt.k1", "train.batch", "seed"}},
      {"version.tbptt", std::string("test")},
      {"version.onednn", std::string("2.6.3")},
      {"version.mpi", std::string("Open MPI 4.1.4")},
      {"hosts", std::vector<std::string>{"node1"}},
      {"ranks", int64_t{2}},
      {"threads_per_rank", int64_t{1}},
      {"workspace_bytes", int64_t{20000} * run.k1 * run.batch},
      {"parameter_count", int64_t{1234}},
  };
}

TrainRow train_row(const SyntheticRun& run, int64_t update) {
  TrainRow row;
  row.update = update;
  row.epoch = update / 25;
  row.tokens = update * run.k1 * run.batch;
  row.loss = train_loss(run, update);
  row.grad_norm = 1.0 / update;
  row.lr = 0.002;
  row.wall_time = 0.1 * update;
  row.tokens_per_s = update == 1 ? tokens_per_s(run) / 10 : tokens_per_s(run);
  row.time_data = 0.001;
  row.time_forward = 0.04;
  row.time_backward = 0.05;
  row.time_allreduce = 0.005;
  row.time_optimizer = 0.004;
  return row;
}

EvalRow eval_row(const SyntheticRun& run, int64_t update) {
  EvalRow row;
  row.update = update;
  row.epoch = update / 25;
  row.split = Split::valid;
  row.loss = valid_loss(run, update);
  row.perplexity = std::exp(row.loss);
  row.bits_per_token = row.loss / std::log(2.0);
  row.accuracy = 0.5;
  row.targets = 1000;
  return row;
}

Checkpoint crash_checkpoint(int64_t update) {
  Checkpoint checkpoint;
  checkpoint.update = update;
  checkpoint.window = update;
  checkpoint.state_dict = model_state_dict("gru", 1, 16, 8, 32, static_cast<uint64_t>(update));
  checkpoint.extra = {{"optimizer.step", update}};
  return checkpoint;
}

namespace {

RunOptions options_for(const std::filesystem::path& out_dir, const std::string& id) {
  RunOptions options;
  options.out_dir = out_dir;
  options.experiment = kExperiment;
  options.run_id = id;
  options.flush_seconds = 3600;  // only explicit flushes and finish(): files are deterministic
  options.fidelity_groups = {"all", "rnn"};
  options.vocab = {"a", "b", "c", " "};
  return options;
}

void write_rows(RunWriter& writer, const SyntheticRun& run, int64_t updates) {
  for (int64_t u = 1; u <= updates; ++u) {
    writer.append(train_row(run, u));
    if (u % kEvalEvery != 0) continue;
    writer.append(eval_row(run, u));
    for (int64_t group = 0; group < 2; ++group) {
      FidelityRow row;
      row.update = u;
      row.horizon = 200;
      row.group = group;
      row.cosine = cosine(run, group);
      row.rel_error = 1.0 - row.cosine;
      row.norm_truncated = 1.0;
      row.norm_long = 1.1;
      writer.append(row);
    }
  }
}

}  // namespace

void write_run(const std::filesystem::path& out_dir, const SyntheticRun& run) {
  RunWriter writer(options_for(out_dir, run_id(run)), run_attributes(run));
  write_rows(writer, run, kUpdates);
  Checkpoint checkpoint;
  checkpoint.update = kUpdates;
  checkpoint.tokens = kUpdates * run.k1 * run.batch;
  checkpoint.state_dict = model_state_dict("lstm", 1, 8, 4, 4, 7);
  writer.write_checkpoint(checkpoint);
  Outcome outcome;
  outcome.attributes = {{"peak_rss_bytes", peak_rss_bytes(run)}, {"wall_time_s", 0.1 * kUpdates}};
  writer.finish(outcome);
}

void write_sweep(const std::filesystem::path& out_dir) {
  for (const auto& run : synthetic_grid()) write_run(out_dir, run);

  const SyntheticRun failed{20, 16, 3};
  {
    RunWriter writer(options_for(out_dir, "failed-run"), run_attributes(failed));
    write_rows(writer, failed, 12);
    Outcome outcome;
    outcome.status = RunStatus::failed;
    outcome.error = "engine: loss is NaN at update 12";
    writer.finish(outcome);
  }
  const SyntheticRun killed{100, 64, 3};
  {
    RunWriter writer(options_for(out_dir, "killed-run"), run_attributes(killed));
    write_rows(writer, killed, 20);
    writer.flush();
  }  // destroyed unfinished: the .part stays, status "running", no lock held
  rebuild_index(out_dir, kExperiment);
}

std::vector<Tensor> model_state_dict(const std::string& cell, int64_t layers, int64_t hidden,
                                     int64_t embedding, int64_t vocab, uint64_t seed) {
  const int64_t gates = cell == "lstm" ? 4 : cell == "gru" ? 3 : 1;
  std::vector<Tensor> tensors;
  auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    int64_t count = 1;
    for (int64_t d : shape) count *= d;
    std::vector<float> values(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i)
      values[i] = static_cast<float>(0.2 * rng::uniform(seed, tensors.size(), i) - 0.1);
    tensors.push_back({name, std::move(shape), std::move(values)});
  };
  add("embedding.weight", {vocab, embedding});
  for (int64_t l = 0; l < layers; ++l) {
    const std::string suffix = "_l" + std::to_string(l);
    add("rnn.weight_ih" + suffix, {gates * hidden, l == 0 ? embedding : hidden});
    add("rnn.weight_hh" + suffix, {gates * hidden, hidden});
    add("rnn.bias_ih" + suffix, {gates * hidden});
    add("rnn.bias_hh" + suffix, {gates * hidden});
  }
  add("head.weight", {vocab, hidden});
  add("head.bias", {vocab});
  return tensors;
}

}  // namespace tbptt::results::testing
