#include "engine/trainer.h"

#include <cmath>
#include <limits>

#include "common/stopwatch.h"

namespace tbptt::engine {

TruncatedTrainer::TruncatedTrainer(Model& model, const TrainerConfig& config, int B, GradientReducer* reducer,
                                   TrainerStorage storage)
    : model_(model), config_(config), reducer_(reducer),
      optimizer_(config.optimizer, model.layout().size(), storage.optimizer_state),
      schedule_(config.schedule, config.optimizer.lr, config.total_updates), state_(model.make_state(B)),
      grads_(place(storage.grads, owned_grads_, model.layout().size())) {}

UpdateStats TruncatedTrainer::update(const WindowBatch& w) {
  UpdateStats s;
  if (w.reset || !config_.carry_state) state_.zero();
  const std::span<float> grads = grads_;
  const LossSums local = model_.forward_backward(grads, state_, w, &s.pass);

  const auto t_reduce = Clock::now();
  double sums[3] = {local.loss, local.correct, static_cast<double>(local.targets)};
  const Reduced reduced = reducer_ ? reducer_->reduce(grads, sums) : Reduced{{0, grads.size()}, std::nullopt};
  const Shard shard = reduced.shard;
  s.allreduce = seconds_since(t_reduce);

  s.targets = static_cast<int64_t>(sums[2]);
  s.lr = schedule_.lr();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  s.loss = s.targets ? sums[0] / sums[2] : nan;
  s.accuracy = model_.config().loss == Loss::cross_entropy && s.targets ? sums[1] / sums[2] : nan;
  s.grad_norm = nan;
  ++updates_;
  if (s.targets > 0) {
    const auto t_opt = Clock::now();
    double scale = 1.0 / sums[2];
    const double mine = reduced.squares ? *reduced.squares : sum_of_squares(grads.subspan(shard.begin, shard.size()));
    const double squares = reducer_ ? reducer_->sum_over_shards(mine) : mine;
    s.grad_norm = std::sqrt(squares) * scale;
    if (config_.clip_grad_norm > 0) {
      const double coef = config_.clip_grad_norm / (s.grad_norm + 1e-6);  // torch.nn.utils.clip_grad_norm_
      if (coef < 1) scale *= coef;
    }
    // A non-finite loss or norm is reported, never applied: the caller stops the run as diverged.
    if (std::isfinite(s.grad_norm) && std::isfinite(s.loss)) {
      optimizer_.step(model_.params(), grads, scale, s.lr, shard);
      s.stepped = true;
    }
    s.optimizer = seconds_since(t_opt);
  }
  // Always, stepped or not: a rank may only overwrite its gradient once every rank has read it.
  if (reducer_) reducer_->step_done();
  schedule_.on_update(updates_);
  return s;
}

LossSums evaluate_window(Model& model, RecurrentState& state, const WindowBatch& w) {
  if (w.reset) state.zero();
  return model.forward(state, w);
}

}  // namespace tbptt::engine
