#pragma once
// Data parallelism among the ranks of one node without an allreduce of the gradient.
//
// The ranks of a run that all live on one node map one shared memory segment:
//
//   [ params | optimizer state | grads of rank 0 | grads of rank 1 | ... | grads of rank P-1 ]
//     one copy, read by every rank's forward      each written by its own rank's backward
//
// and each rank owns a shard, a contiguous 1/P of the flat buffers (64-byte aligned). An update:
//
//   backward      every rank writes its own gradient
//   round         RankGroup's tiny allreduce of the sums and flags: every gradient is complete
//   sum           grads_r[shard r] = grads_0[shard r] + ... + grads_{P-1}[shard r] (rank order),
//                 and the sum of squares of the shard in the same pass
//   norm          the P shards' sums of squares, added in rank order
//   step          rank r steps params[shard r] and the optimizer state of shard r
//   barrier       every shard is stepped: the next forward reads the new parameters
//
// Against MPI_Allreduce followed by P replicated optimizer steps, each rank reads the other
// gradients once and steps 1/P of the parameters: on the seed LM the allreduce and Adam were a
// fifth of a 2-rank update. The sum is the one MPI_Allreduce computes for 2 ranks (a + b), so
// the numbers do not change; checkpoints read the one copy of the parameters and state.

#include <memory>
#include <span>
#include <vector>

#include "engine/trainer.h"
#include "harness/rank_group.h"

namespace tbptt::harness {

class SharedStep : public engine::GradientReducer {
 public:
  // Collective over the group. nullptr (on every rank) when the group has one rank, spans more
  // than one node, TBPTT_SHARED_STEP=0 is set on some rank, or some rank cannot get the shared
  // memory (a memory limit, or no access to the leader's /proc/<pid>/fd): the run then uses
  // RankGroup's allreduce.
  static std::unique_ptr<SharedStep> create(RankGroup& group, size_t params, size_t optimizer_state);
  ~SharedStep() override;
  SharedStep(const SharedStep&) = delete;
  SharedStep& operator=(const SharedStep&) = delete;

  std::span<float> params() { return params_; }
  engine::TrainerStorage trainer_storage() { return {grads_[static_cast<size_t>(group_.rank())], state_}; }

  // engine::GradientReducer
  engine::Reduced reduce(std::span<float> grads, std::span<double> sums) override;
  double sum_over_shards(double x) override;
  void step_done() override;

  // Collective: the leader copies the whole summed gradient of the last update into `out` (the
  // other ranks pass an empty span), while no rank can overwrite its gradient.
  void gather_gradient(std::span<float> out);

 private:
  SharedStep(RankGroup& group, void* base, size_t bytes, size_t params, size_t optimizer_state);

  RankGroup& group_;
  void* base_;
  size_t bytes_;
  std::span<float> params_, state_;
  std::vector<std::span<float>> grads_;      // every rank's gradient
  std::vector<const float*> replicas_;       // the same, as sum_replicas takes them
  std::vector<engine::Shard> shards_;        // every rank's shard
  std::vector<double> partials_;             // sum_over_shards' exchange, one per rank
};

// A data-parallel rank's model and trainer, with their buffers in a SharedStep when create()
// gives one, else each rank's own and an MPI_Allreduce through the group. Members in this order:
// `shared` outlives the model and trainer whose buffers it holds.
struct Replica {
  std::unique_ptr<SharedStep> shared;
  std::unique_ptr<engine::Model> model;
  std::unique_ptr<engine::TruncatedTrainer> trainer;
};
// Collective over the group. rows = this rank's rows of the batch.
Replica make_replica(RankGroup& group, const engine::ModelConfig& model, uint64_t seed, const engine::TrainerConfig& trainer,
                     int rows);

}  // namespace tbptt::harness
