#include "engine/optimizer.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "engine/parallel.h"
#include "engine/simd.h"

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

size_t Optimizer::state_size(const OptimizerConfig& config, size_t n) {
  if (config.kind != OptimizerKind::sgd) return 2 * n;
  return config.momentum > 0 ? n : 0;
}

Optimizer::Optimizer(const OptimizerConfig& config, size_t n, std::span<float> storage) : config_(config), n_(n) {
  if (!(config.lr > 0 && std::isfinite(config.lr)))
    throw ConfigError("train.optimizer.lr", std::to_string(config.lr), "must be a finite number > 0");
  if (config.nesterov && (config.kind != OptimizerKind::sgd || config.momentum <= 0))
    throw ConfigError("train.optimizer.nesterov", "true", "needs train.optimizer.name = sgd and momentum > 0");
  const std::span<float> state = place(storage, owned_, state_size(config, n));
  if (!state.empty()) m_ = state.first(n);
  if (state.size() == 2 * n) v_ = state.subspan(n);
}

std::vector<std::pair<std::string, std::span<float>>> Optimizer::state() {
  if (config_.kind != OptimizerKind::sgd) return {{"m", {m_.data(), n_}}, {"v", {v_.data(), n_}}};
  if (config_.momentum > 0) return {{"momentum", {m_.data(), n_}}};
  return {};
}

namespace {

// The update rules as flat loops over the whole buffer (one pass, vectorised: see simd.h). Their
// scalars are computed once per step by Optimizer::step.
struct SgdScalars {
  float scale, wd, mu, lr;
  bool nesterov;
};

// The scalars are copied into locals before the loop: read through the struct, GCC reloads them
// every iteration (a store to p, m or v might change them) and the loop runs 5x slower.
TBPTT_VECTOR_CLONES
void sgd_step(float* p, const float* g, float* m, int64_t n, SgdScalars s) {
  const float scale = s.scale, wd = s.wd, mu = s.mu, lr = s.lr;
  const bool momentum = mu > 0, nesterov = s.nesterov;
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    float d = g[i] * scale + wd * p[i];
    if (momentum) {
      m[i] = mu * m[i] + d;  // PyTorch: the first step's buffer is d itself (m starts at 0)
      d = nesterov ? d + mu * m[i] : m[i];
    }
    p[i] -= lr * d;
  }
}

struct AdamScalars {
  float scale, wd, b1, b2, one_minus_b1, one_minus_b2, eps, step_size, inv_sqrt_bc2, decay;
  bool decoupled;
};

// Adam's L2 term (wd * p added to the gradient) and AdamW's decay (p *= 1 - lr * wd) as factors,
// so the loop has no branch: one of them is the identity.
TBPTT_VECTOR_CLONES
void adam_step(float* p, const float* g, float* m, float* v, int64_t n, AdamScalars s) {
  const float scale = s.scale, b1 = s.b1, b2 = s.b2, c1 = s.one_minus_b1, c2 = s.one_minus_b2, eps = s.eps;
  const float step = s.step_size, inv_bc2 = s.inv_sqrt_bc2;
  const float decay = s.decoupled ? s.decay : 1.0f, l2 = s.decoupled ? 0.0f : s.wd;
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const float pi = p[i] * decay;
    const float d = g[i] * scale + l2 * pi;
    const float mi = b1 * m[i] + c1 * d;
    const float vi = b2 * v[i] + c2 * d * d;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - step * mi / (std::sqrt(vi) * inv_bc2 + eps);
  }
}

}  // namespace

void Optimizer::step(std::span<float> params, std::span<const float> grads, double grad_scale, double lr) {
  step(params, grads, grad_scale, lr, {0, n_});
}

void Optimizer::step(std::span<float> params, std::span<const float> grads, double grad_scale, double lr, Shard shard) {
  TBPTT_CHECK(params.size() == n_ && grads.size() == n_ && shard.begin <= shard.end && shard.end <= n_,
              "optimizer step over buffers or a shard of the wrong size");
  ++steps_;
  const auto n = static_cast<int64_t>(shard.size());
  const size_t at = shard.begin;
  float* m = m_.empty() ? nullptr : m_.data() + at;
  float* v = v_.empty() ? nullptr : v_.data() + at;
  const float scale = static_cast<float>(grad_scale), wd = static_cast<float>(config_.weight_decay);
  if (config_.kind == OptimizerKind::sgd) {
    sgd_step(params.data() + at, grads.data() + at, m, n,
             {scale, wd, static_cast<float>(config_.momentum), static_cast<float>(lr), config_.nesterov});
    return;
  }
  // Adam / AdamW as torch.optim: denom = sqrt(v) / sqrt(1 - b2^t) + eps, p -= lr / (1 - b1^t) * m / denom.
  // Scalars in double, cast once, as PyTorch does (1 - 0.9f in float is off by 2e-7).
  const double t = static_cast<double>(steps_);
  const AdamScalars s{scale,
                      wd,
                      static_cast<float>(config_.beta1),
                      static_cast<float>(config_.beta2),
                      static_cast<float>(1.0 - config_.beta1),
                      static_cast<float>(1.0 - config_.beta2),
                      static_cast<float>(config_.eps),
                      static_cast<float>(lr / (1.0 - std::pow(config_.beta1, t))),
                      static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(config_.beta2, t))),
                      static_cast<float>(1.0 - lr * config_.weight_decay),
                      config_.kind == OptimizerKind::adamw};
  adam_step(params.data() + at, grads.data() + at, m, v, n, s);
}

// Each thread sums its slice in double (vectorised), the slices are added in thread order.
TBPTT_VECTOR_CLONES
double sum_of_squares(std::span<const float> grads) {
  const float* g = grads.data();
  const auto n = static_cast<int64_t>(grads.size());
  ThreadPartials<1> partial{};
  check_thread_count();
#pragma omp parallel if (n >= kParallelMin)
  {
    const auto [i0, i1] = thread_slice(n);
    double acc = 0;
#pragma omp simd reduction(+ : acc)
    for (int64_t i = i0; i < i1; ++i) acc += static_cast<double>(g[i]) * g[i];
    partial[static_cast<size_t>(omp_get_thread_num())][0] = acc;
  }
  return sum_in_thread_order<1>(partial)[0];
}

double global_norm(std::span<const float> grads, double scale) { return std::sqrt(sum_of_squares(grads)) * scale; }

// Block by block through an L1-resident accumulator, so that dst may be any of the replicas and
// the terms are still added in replica order; the squares are summed as each block is written
// (one pass over the shard instead of two), each thread over its own blocks, in thread order.
TBPTT_VECTOR_CLONES
double sum_replicas(float* dst, std::span<const float* const> replicas, Shard shard) {
  constexpr int64_t kBlock = 2048;
  const auto begin = static_cast<int64_t>(shard.begin), end = static_cast<int64_t>(shard.end);
  const int64_t blocks = (end - begin + kBlock - 1) / kBlock;
  ThreadPartials<1> partial{};
  check_thread_count();
#pragma omp parallel if (end - begin >= kParallelMin)
  {
    double squares = 0;
    for (auto [k, last] = thread_slice(blocks); k < last; ++k) {
      const int64_t b = begin + k * kBlock, n = std::min(kBlock, end - b);
      alignas(64) float acc[kBlock];
      const float* first = replicas[0] + b;
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) acc[j] = first[j];
      for (size_t r = 1; r < replicas.size(); ++r) {
        const float* next = replicas[r] + b;
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) acc[j] += next[j];
      }
#pragma omp simd reduction(+ : squares)
      for (int64_t j = 0; j < n; ++j) {
        dst[b + j] = acc[j];
        squares += static_cast<double>(acc[j]) * acc[j];
      }
    }
    partial[static_cast<size_t>(omp_get_thread_num())][0] = squares;
  }
  return sum_in_thread_order<1>(partial)[0];
}

}  // namespace tbptt::engine
