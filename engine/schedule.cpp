#include "engine/schedule.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"

namespace tbptt::engine {

ScheduleKind schedule_kind(const std::string& name) {
  if (name == "constant") return ScheduleKind::constant;
  if (name == "step") return ScheduleKind::step;
  if (name == "plateau") return ScheduleKind::plateau;
  if (name == "cosine") return ScheduleKind::cosine;
  throw ConfigError("train.schedule.name", name, "one of constant, step, plateau, cosine");
}

const char* name(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::constant: return "constant";
    case ScheduleKind::step: return "step";
    case ScheduleKind::plateau: return "plateau";
    case ScheduleKind::cosine: return "cosine";
  }
  return "?";
}

LrSchedule::LrSchedule(const ScheduleConfig& config, double base_lr, int64_t total_updates)
    : config_(config), base_lr_(base_lr), total_(total_updates), lr_(base_lr),
      best_(std::numeric_limits<double>::infinity()) {
  if (!(config.factor > 0 && config.factor <= 1))
    throw ConfigError("train.schedule.factor", std::to_string(config.factor), "must lie in (0, 1]");
  on_update(0);
}

void LrSchedule::on_update(int64_t updates_done) {
  if (config_.kind != ScheduleKind::cosine) return;
  const int64_t u = updates_done;  // index of the next update
  if (u < config_.warmup) {
    lr_ = base_lr_ * static_cast<double>(u + 1) / static_cast<double>(config_.warmup);
    return;
  }
  const double span = static_cast<double>(std::max<int64_t>(1, total_ - config_.warmup));
  const double progress = std::min(1.0, static_cast<double>(u - config_.warmup) / span);
  lr_ = config_.min_lr + (base_lr_ - config_.min_lr) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

void LrSchedule::on_epoch_end(int64_t epochs_done) {
  if (config_.kind == ScheduleKind::step && epochs_done >= config_.after_epoch) lr_ *= config_.factor;
}

void LrSchedule::on_eval(double valid_loss) {
  if (config_.kind != ScheduleKind::plateau) return;
  if (valid_loss < best_) {
    best_ = valid_loss;
    bad_evals_ = 0;
  } else if (++bad_evals_ > config_.patience) {
    lr_ *= config_.factor;
    bad_evals_ = 0;
  }
}

}  // namespace tbptt::engine
