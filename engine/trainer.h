#pragma once
// TBPTT(k1, k2) training, one update per window:
//
//   reset?  -> zero state           (sequence or epoch start; every window when carry_state = false)
//   window  -> forward, backward    (Model::forward_backward: gradient of the SUM of the window's losses)
//   reducer -> sum gradients and loss sums over the ranks of the run (on this rank's shard)
//   scale   -> 1 / (targets of all ranks), the clipping factor (PyTorch's clip_grad_norm_ rule)
//   step    -> one fused optimizer loop over the shard; the schedule advances
//
// Averaging by the global target count (not by rank) is what makes P ranks reproduce one rank:
// the summed gradient is the same sum, only added in a different order.

#include <cstdint>
#include <optional>
#include <span>

#include "engine/model.h"
#include "engine/optimizer.h"
#include "engine/schedule.h"

namespace tbptt::engine {

// How the ranks of a data-parallel run combine their gradients; no reducer = one process.
// The harness has two: one MPI_Allreduce of the whole gradient, after which every rank steps
// every parameter (shard = all), and, for ranks on one node, parameters, optimizer state and
// gradients in shared memory, where each rank sums and steps its own shard of the parameters.
// What a reduction leaves this rank: the shard it steps, where grads holds the sum of every
// replica's gradient, and the sum of squares of that sum over the shard (for the global norm) if
// the reduction computed it on the way; else the trainer does, when the window has targets.
struct Reduced {
  Shard shard;
  std::optional<double> squares;
};

class GradientReducer {
 public:
  virtual ~GradientReducer() = default;
  // Sums `sums` over the ranks, and the gradient over the ranks at least on the returned shard.
  virtual Reduced reduce(std::span<float> grads, std::span<double> sums) = 0;
  // The sum over the shards of one number per shard, identical on every rank.
  virtual double sum_over_shards(double x) { return x; }
  // After this rank's step: returns once every shard is stepped.
  virtual void step_done() {}
};

// Where a trainer's flat buffers live; empty spans: in the trainer (see engine::place).
struct TrainerStorage {
  std::span<float> grads;            // layout().size() floats
  std::span<float> optimizer_state;  // Optimizer::state_size floats
};

struct TrainerConfig {
  bool carry_state = true;
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  double clip_grad_norm = 0;   // 0 = off
  int64_t total_updates = 0;   // for the cosine schedule
};

// What one update did, for the whole run (after the reduction over ranks).
struct UpdateStats {
  double loss = 0;        // mean per-target loss of the window
  double accuracy = 0;    // NaN for regression
  int64_t targets = 0;    // targets of all ranks
  double grad_norm = 0;   // before clipping; NaN when no rank had a target
  double lr = 0;          // the rate this update used
  bool stepped = false;   // false when no rank had a target: nothing to learn, no step
  PassTimes pass;         // forward, backward
  double allreduce = 0, optimizer = 0;  // seconds
};

class TruncatedTrainer {
 public:
  // B = this rank's rows of the batch.
  TruncatedTrainer(Model& model, const TrainerConfig& config, int B, GradientReducer* reducer = nullptr,
                   TrainerStorage storage = {});

  UpdateStats update(const WindowBatch& w);

  Model& model() { return model_; }
  Optimizer& optimizer() { return optimizer_; }
  LrSchedule& schedule() { return schedule_; }
  RecurrentState& state() { return state_; }        // the carried state (checkpointed)
  // This rank's gradient after an update: summed over the ranks on its shard (see GradientReducer).
  std::span<const float> grads() const { return grads_; }
  int64_t updates() const { return updates_; }
  void set_updates(int64_t updates) { updates_ = updates; }

 private:
  Model& model_;
  TrainerConfig config_;
  GradientReducer* reducer_;
  Optimizer optimizer_;
  LrSchedule schedule_;
  RecurrentState state_;
  Buffer<float> owned_grads_;
  std::span<float> grads_;
  int64_t updates_ = 0;
};

// Forward-only loss of one window with the state carried across calls (zeroed on w.reset).
LossSums evaluate_window(Model& model, RecurrentState& state, const WindowBatch& w);

}  // namespace tbptt::engine
