#pragma once
// A synthetic sweep whose every number is a closed-form function of (k1, batch, seed), so tests
// can check the summary, the report and the plots against the formulas below rather than
// against what the implementation happened to produce.
//
// Grid: tbptt.k1 in {5, 20, 100} x train.batch in {16, 64} x seed in {1, 2} -> 12 completed runs,
// plus one failed run ("failed-run") and one run whose writer stopped unfinished ("killed-run").

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "results/schema.h"
#include "results/value.h"

namespace tbptt::results::testing {

inline constexpr int64_t kUpdates = 50;       // train rows per completed run
inline constexpr int64_t kEvalEvery = 10;     // a valid row at updates 10, 20, ..., 50
inline constexpr const char* kExperiment = "synthetic";

struct SyntheticRun {
  int64_t k1, batch, seed;
};

// The run results_tool writes (and the crash tests kill) as experiment "crash", run "victim".
inline constexpr SyntheticRun kCrashRun{20, 16, 1};

std::vector<SyntheticRun> synthetic_grid();
std::string run_id(const SyntheticRun& run);  // "k5-b16-s1"

// The formulas. Valid loss falls as exp(-u/10) to its floor, then ticks up by 0.05 at the last
// evaluation, so the best and the final valid loss differ.
double valid_floor(const SyntheticRun& run);  // 1 + 1/k1 + batch/1000 + seed/1000
double valid_loss(const SyntheticRun& run, int64_t update);
double train_loss(const SyntheticRun& run, int64_t update);
double final_valid_loss(const SyntheticRun& run);
double best_valid_loss(const SyntheticRun& run);
double tokens_per_s(const SyntheticRun& run);  // every update but the first (warm-up, a tenth)
int64_t peak_rss_bytes(const SyntheticRun& run);
double cosine(const SyntheticRun& run, int64_t group);  // fidelity: 1 - (group + 1) / k1

Attributes run_attributes(const SyntheticRun& run);
TrainRow train_row(const SyntheticRun& run, int64_t update);
EvalRow eval_row(const SyntheticRun& run, int64_t update);

// The checkpoint results_tool writes at `update` for the crash run: a small GRU state_dict keyed
// by the update, cursor window = update, extra "optimizer.step" = update.
Checkpoint crash_checkpoint(int64_t update);

// One completed run file (with fidelity rows, vocab and a checkpoint at the last update).
void write_run(const std::filesystem::path& out_dir, const SyntheticRun& run);
// The grid, the failed run, the killed run, and the index.
void write_sweep(const std::filesystem::path& out_dir);

// A PyTorch-shaped state_dict for an embedding -> `cell` x layers -> linear head model
// (cell: lstm | gru | rnn_tanh), values from the counter RNG (keyed by `seed`) in [-0.1, 0.1).
std::vector<Tensor> model_state_dict(const std::string& cell, int64_t layers, int64_t hidden,
                                     int64_t embedding, int64_t vocab, uint64_t seed);

}  // namespace tbptt::results::testing
