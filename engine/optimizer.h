#pragma once
// Optimizers over the flat parameter buffer: one fused OpenMP loop per step, PyTorch's update
// rules exactly (torch.optim.SGD / Adam / AdamW, single-tensor code path), so a step can be
// checked against hand-computed values and a PyTorch peer follows the same trajectory.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/buffer.h"

namespace tbptt::engine {

enum class OptimizerKind { sgd, adam, adamw };

// A contiguous part [begin, end) of the flat buffers: what one rank of a data-parallel run steps
// when the ranks share the parameters (see harness/shared_step.h). The whole buffer otherwise.
struct Shard {
  size_t begin = 0, end = 0;
  size_t size() const { return end - begin; }
};

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::adam;
  double lr = 1e-3;
  double momentum = 0;      // sgd
  bool nesterov = false;    // sgd
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // adam, adamw
  double weight_decay = 0;  // L2 added to the gradient (sgd, adam); decoupled (adamw)
};

OptimizerKind optimizer_kind(const std::string& name);  // throws ConfigError on train.optimizer.name
const char* name(OptimizerKind kind);

class Optimizer {
 public:
  // The state (state_size floats) lives in `storage` if given, else in the optimizer.
  Optimizer(const OptimizerConfig& config, size_t n, std::span<float> storage = {});
  static size_t state_size(const OptimizerConfig& config, size_t n);

  // params <- update(params, grads * grad_scale) at learning rate lr, on the elements of `shard`
  // (default: all). grad_scale folds the 1/targets averaging and the clipping factor into the
  // same pass. Every step counts, whatever its shard: each rank steps its own shard once.
  void step(std::span<float> params, std::span<const float> grads, double grad_scale, double lr);
  void step(std::span<float> params, std::span<const float> grads, double grad_scale, double lr, Shard shard);

  const OptimizerConfig& config() const { return config_; }
  int64_t steps() const { return steps_; }
  // Named state buffers (sgd: "momentum" when momentum > 0; adam/adamw: "m", "v") for checkpoints.
  std::vector<std::pair<std::string, std::span<float>>> state();
  void set_steps(int64_t steps) { steps_ = steps; }

 private:
  OptimizerConfig config_;
  size_t n_;
  Buffer<float> owned_;
  std::span<float> m_, v_;  // momentum (sgd) or first/second moments (adam): [n] each, in one buffer
  int64_t steps_ = 0;
};

// sum g^2 in double, summed in a fixed order (bitwise reproducible for a thread count).
double sum_of_squares(std::span<const float> grads);
// sqrt(sum g^2) * scale.
double global_norm(std::span<const float> grads, double scale);

// dst[i] = sum over r of replicas[r][i], added in replica order, for i in `shard` (dst may be one of
// the replicas): the data-parallel gradient sum when the ranks' gradients are in shared memory.
// Returns sum dst[i]^2 over the shard (as sum_of_squares, in one pass with the sum).
double sum_replicas(float* dst, std::span<const float* const> replicas, Shard shard);

}  // namespace tbptt::engine
