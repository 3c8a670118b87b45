#pragma once
// TBPTT(k1, k2) training, one update per window:
//
//   reset?  -> zero state           (sequence or epoch start; every window when carry_state = false)
//   window  -> forward, backward    (Model::forward_backward: gradient of the SUM of the window's losses)
//   reducer -> sum gradients and loss sums over the ranks of the run
//   scale   -> 1 / (targets of all ranks), the clipping factor (PyTorch's clip_grad_norm_ rule)
//   step    -> one fused optimizer loop; the schedule advances
//
// Averaging by the global target count (not by rank) is what makes P ranks reproduce one rank:
// the summed gradient is the same sum, only added in a different order.

#include <cstdint>
#include <span>

#include "engine/model.h"
#include "engine/optimizer.h"
#include "engine/schedule.h"

namespace tbptt::engine {

// The harness implements this with one MPI_Allreduce; the default (one process) is the identity.
class GradientReducer {
 public:
  virtual ~GradientReducer() = default;
  // Element-wise sums over every replica of the run, in place.
  virtual void allreduce_sum(std::span<float> grads, std::span<double> sums) = 0;
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
  // B = rows of this rank's shard.
  TruncatedTrainer(Model& model, const TrainerConfig& config, int B, GradientReducer* reducer = nullptr);

  UpdateStats update(const WindowBatch& w);

  Model& model() { return model_; }
  Optimizer& optimizer() { return optimizer_; }
  LrSchedule& schedule() { return schedule_; }
  RecurrentState& state() { return state_; }        // the carried state (checkpointed)
  std::span<const float> grads() const { return {grads_.data(), model_.layout().size()}; }
  int64_t updates() const { return updates_; }
  void set_updates(int64_t updates) { updates_ = updates; }

 private:
  Model& model_;
  TrainerConfig config_;
  GradientReducer* reducer_;
  Optimizer optimizer_;
  LrSchedule schedule_;
  RecurrentState state_;
  Buffer<float> grads_;
  int64_t updates_ = 0;
};

// Forward-only loss of one window with the state carried across calls (zeroed on w.reset).
LossSums evaluate_window(Model& model, RecurrentState& state, const WindowBatch& w);

}  // namespace tbptt::engine
