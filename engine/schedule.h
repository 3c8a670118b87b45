#pragma once
// Learning-rate schedules. The trainer reports events (an update done, an epoch done, a
// validation loss) and asks for the rate of the next update.
//   constant  lr
//   step      lr * factor^(epochs done that are >= after_epoch)       (Zaremba et al. 2014)
//   plateau   lr * factor each time the validation loss fails to improve for more than
//             `patience` evaluations in a row             (PyTorch word_language_model: factor 1/4)
//   cosine    linear warm-up over `warmup` updates, then cosine from lr to min_lr at the last update

#include <cstdint>
#include <string>

namespace tbptt::engine {

enum class ScheduleKind { constant, step, plateau, cosine };

struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::constant;
  int64_t after_epoch = 1;
  double factor = 0.5;
  int64_t patience = 0;
  double min_lr = 0;
  int64_t warmup = 0;
};

ScheduleKind schedule_kind(const std::string& name);  // throws ConfigError on train.schedule.name
const char* name(ScheduleKind kind);

class LrSchedule {
 public:
  LrSchedule(const ScheduleConfig& config, double base_lr, int64_t total_updates);

  double lr() const { return lr_; }           // for the next update
  void on_update(int64_t updates_done);
  void on_epoch_end(int64_t epochs_done);     // epochs counted from 1
  void on_eval(double valid_loss);

  // Everything a resumed run needs to continue the schedule exactly.
  struct State {
    double lr, best;
    int64_t bad_evals;
  };
  State state() const { return {lr_, best_, bad_evals_}; }
  void restore(const State& s) { lr_ = s.lr, best_ = s.best, bad_evals_ = s.bad_evals; }

 private:
  ScheduleConfig config_;
  double base_lr_;
  int64_t total_;
  double lr_;
  double best_;
  int64_t bad_evals_ = 0;
};

}  // namespace tbptt::engine
