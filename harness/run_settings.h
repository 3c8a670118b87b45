#pragma once
// One run's settings, typed: the only place where resolved YAML keys become the structs of the
// engine, the data library and the results writer. Everything after this reads fields, not keys.

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "engine/trainer.h"
#include "harness/config/run.h"

namespace tbptt::harness {

struct RunSettings {
  std::string run_id;
  uint64_t seed = 0;
  data::SourceSpec data;
  engine::ModelConfig model;        // vocab / input / outputs come from the data (fit_to_data)
  engine::TrainerConfig trainer;
  data::WindowPlan train;           // rank and ranks are set per rank
  int64_t epochs = 1, steps = 0;    // steps > 0: stop after that many updates
  int64_t tokens = 0;               // > 0: stop once that many tokens (new steps x batch) were seen
  double max_time = 0;              // seconds, 0 = no budget
  int64_t eval_every = 0;           // 0 = at each epoch end
  int eval_batch = 10, eval_window = 20;
  std::vector<data::Split> eval_splits;
  int ranks_per_run = 1, threads_per_rank = 0;
  int64_t checkpoint_every = 0, checkpoint_keep = 2;
  int64_t fidelity_every = 0, fidelity_horizon = 0;
  double flush_seconds = 10;
};

RunSettings read_settings(const Run& run);

// The model's input and output widths are the data's: V or I in, classes or O out.
void fit_to_data(engine::ModelConfig& model, const data::Shape& shape);

// Evaluation walks a split with state carried across windows. Every-step heads use windows of
// eval.window steps (any length gives the same result); last-step heads use tbptt.k1, the
// stride at whose end training puts the loss. Rows are sharded over the ranks when eval.batch
// divides evenly, otherwise every rank evaluates every row.
data::WindowPlan eval_plan(const RunSettings& s, data::Split split, int rank, int ranks);
bool eval_sharded(const RunSettings& s, int ranks);

// Updates a run will make: its steps, else its epochs, capped by its token budget (assuming
// full windows: k1 new steps x batch tokens each).
int64_t planned_updates(const RunSettings& s, int64_t windows_per_epoch);

// Threads this run uses: parallel.threads_per_rank, else OMP_NUM_THREADS, else 1.
int threads_for(const RunSettings& s);

}  // namespace tbptt::harness
