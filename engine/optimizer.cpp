#include "engine/optimizer.h"

#include <cmath>

#include "common/error.h"
#include "engine/parallel.h"

namespace tbptt::engine {

OptimizerKind optimizer_kind(const std::string& name) {
  if (name == "sgd") return OptimizerKind::sgd;
  if (name == "adam") return OptimizerKind::adam;
  if (name == "adamw") return OptimizerKind::adamw;
  throw ConfigError("train.optimizer.name", name, "one of sgd, adam, adamw");
}

const char* name(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::sgd: return "sgd";
    case OptimizerKind::adam: return "adam";
    case OptimizerKind::adamw: return "adamw";
  }
  return "?";
}

Optimizer::Optimizer(const OptimizerConfig& config, size_t n) : config_(config), n_(n) {
  if (!(config.lr > 0 && std::isfinite(config.lr)))
    throw ConfigError("train.optimizer.lr", std::to_string(config.lr), "must be a finite number > 0");
  if (config.nesterov && (config.kind != OptimizerKind::sgd || config.momentum <= 0))
    throw ConfigError("train.optimizer.nesterov", "true", "needs train.optimizer.name = sgd and momentum > 0");
  const bool moments = config.kind != OptimizerKind::sgd;
  if (moments || config.momentum > 0) {
    m_.grow(n);
    m_.zero();
  }
  if (moments) {
    v_.grow(n);
    v_.zero();
  }
}

std::vector<std::pair<std::string, std::span<float>>> Optimizer::state() {
  if (config_.kind != OptimizerKind::sgd) return {{"m", {m_.data(), n_}}, {"v", {v_.data(), n_}}};
  if (config_.momentum > 0) return {{"momentum", {m_.data(), n_}}};
  return {};
}

void Optimizer::step(std::span<float> params, std::span<const float> grads, double grad_scale, double lr) {
  ++steps_;
  const auto n = static_cast<int64_t>(n_);
  float* p = params.data();
  const float* g = grads.data();
  const float scale = static_cast<float>(grad_scale), wd = static_cast<float>(config_.weight_decay);
  float* m = m_.data();
  float* v = v_.data();
  if (config_.kind == OptimizerKind::sgd) {
    const float mu = static_cast<float>(config_.momentum), a = static_cast<float>(lr);
    const bool nesterov = config_.nesterov;
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      float d = g[i] * scale + wd * p[i];
      if (mu > 0) {
        m[i] = mu * m[i] + d;  // PyTorch: the first step's buffer is d itself (m starts at 0)
        d = nesterov ? d + mu * m[i] : m[i];
      }
      p[i] -= a * d;
    }
    return;
  }
  // Adam / AdamW as torch.optim: denom = sqrt(v) / sqrt(1 - b2^t) + eps, p -= lr / (1 - b1^t) * m / denom.
  // Scalars in double, cast once, as PyTorch does (1 - 0.9f in float is off by 2e-7).
  const float b1 = static_cast<float>(config_.beta1), b2 = static_cast<float>(config_.beta2);
  const float one_minus_b1 = static_cast<float>(1.0 - config_.beta1), one_minus_b2 = static_cast<float>(1.0 - config_.beta2);
  const float eps = static_cast<float>(config_.eps);
  const double t = static_cast<double>(steps_);
  const float step_size = static_cast<float>(lr / (1.0 - std::pow(config_.beta1, t)));
  const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(config_.beta2, t)));
  const bool decoupled = config_.kind == OptimizerKind::adamw;
  const float decay = static_cast<float>(1.0 - lr * config_.weight_decay);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    float d = g[i] * scale;
    if (decoupled) {
      p[i] *= decay;
    } else {
      d += wd * p[i];
    }
    m[i] = b1 * m[i] + one_minus_b1 * d;
    v[i] = b2 * v[i] + one_minus_b2 * d * d;
    p[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
  }
}

double global_norm(std::span<const float> grads, double scale) {
  const float* g = grads.data();
  const auto s = ordered_sum<1>(static_cast<int64_t>(grads.size()), [&](int64_t i, std::array<double, 1>& acc) {
    acc[0] += static_cast<double>(g[i]) * g[i];
  });
  return std::sqrt(s[0]) * scale;
}

}  // namespace tbptt::engine
