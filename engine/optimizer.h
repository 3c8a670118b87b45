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
  Optimizer(const OptimizerConfig& config, size_t n);

  // params <- update(params, grads * grad_scale) at learning rate lr. grad_scale folds the
  // 1/targets averaging and the clipping factor into the same pass.
  void step(std::span<float> params, std::span<const float> grads, double grad_scale, double lr);

  const OptimizerConfig& config() const { return config_; }
  int64_t steps() const { return steps_; }
  // Named state buffers (sgd: "momentum" when momentum > 0; adam/adamw: "m", "v") for checkpoints.
  std::vector<std::pair<std::string, std::span<float>>> state();
  void set_steps(int64_t steps) { steps_ = steps; }

 private:
  OptimizerConfig config_;
  size_t n_;
  Buffer<float> m_, v_;  // momentum (sgd) or first/second moments (adam)
  int64_t steps_ = 0;
};

// sqrt(sum g^2) * scale, summed in a fixed order (bitwise reproducible for a thread count).
double global_norm(std::span<const float> grads, double scale);

}  // namespace tbptt::engine
