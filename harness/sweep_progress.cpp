#include "harness/sweep_progress.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace tbptt::harness {
namespace {

std::string clock_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--:--";
  const auto s = static_cast<int64_t>(seconds + 0.5);
  return fmt::format("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
}

}  // namespace

SweepProgress::SweepProgress(const std::vector<PlannedRun>& plan, std::vector<size_t> todo, std::ostream& out, bool tty)
    : plan_(plan), out_(out), tty_(tty), total_(todo.size()), start_(std::chrono::steady_clock::now()), last_status_(start_) {
  for (size_t p : todo) total_cost_ += plan[p].cost;
}

void SweepProgress::started(size_t) { ++running_; }

void SweepProgress::finished(size_t position, const RunResult& r) {
  const PlannedRun& run = plan_[position];
  --running_;
  ++done_;
  done_cost_ += run.cost;
  if (r.status != results::RunStatus::completed) ++failed_;
  if (status_shown_ && tty_) out_ << "\r\033[K";
  std::string outcome(results::to_string(r.status));
  if (std::isfinite(r.final_valid_loss)) outcome += fmt::format(", valid loss {:.4f}", r.final_valid_loss);
  else if (std::isfinite(r.final_train_loss)) outcome += fmt::format(", train loss {:.4f}", r.final_train_loss);
  if (!r.error.empty()) outcome += ": " + r.error;
  out_ << fmt::format("[{:>{}}/{}] {} {} {} in {:.1f} s\n", done_, std::to_string(total_).size(), total_, run.run_id,
                      swept_text(run.swept), outcome, r.seconds);
  status_shown_ = false;
  status(true);
}

void SweepProgress::tick(const RunTick& t) {
  current_fraction_ = t.total > 0 ? static_cast<double>(t.update) / static_cast<double>(t.total) : 0;
  current_fraction_ = std::min(1.0, std::max(current_fraction_, t.time_fraction));  // whichever limit comes first
  for (const auto& run : plan_)
    if (run.run_id == t.run_id) current_cost_ = run.cost;
  status(false);
}

double SweepProgress::eta_seconds() const {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double done = done_cost_ + current_fraction_ * current_cost_;
  if (done <= 0) return NAN;
  return elapsed * (total_cost_ - done) / done;
}

void SweepProgress::status(bool force) {
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_status_).count();
  if (!force && since < (tty_ ? 0.5 : 30.0)) return;
  if (!tty_ && force) return;  // plain logs: the finished-run line already said it
  last_status_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double fraction = total_cost_ > 0 ? std::min(1.0, (done_cost_ + current_fraction_ * current_cost_) / total_cost_) : 0;
  std::string line = fmt::format("{}/{} runs done, {} running, {} failed | {} elapsed, ETA {}", done_, total_,
                                 std::max(running_, 0), failed_, clock_text(elapsed), clock_text(eta_seconds()));
  if (tty_) {
    const int width = 24, filled = static_cast<int>(fraction * width);
    out_ << "\r\033[K[" << std::string(filled, '#') << std::string(width - filled, '.') << "] " << line << std::flush;
    status_shown_ = true;
  } else {
    out_ << line << "\n" << std::flush;
  }
}

void SweepProgress::close() {
  if (status_shown_ && tty_) out_ << "\n";
  status_shown_ = false;
}

}  // namespace tbptt::harness
