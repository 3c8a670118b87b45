#include "harness/fidelity_probe.h"

#include <cmath>

#include "common/check.h"
#include "harness/evaluation.h"

namespace tbptt::harness {
namespace {

data::WindowPlan long_plan(data::WindowPlan plan, int64_t horizon) {
  plan.k2 = static_cast<int>(horizon);
  plan.drop_last = false;
  return plan;
}

int64_t rounded_horizon(const RunSettings& s) {
  const int64_t k1 = s.train.k1, k2 = s.train.k2;
  const int64_t j = (std::max<int64_t>(s.fidelity_horizon, k2) - k2 + k1 - 1) / k1;
  return k2 + j * k1;
}

// The group a tensor belongs to: 1 embedding, 2 + l the recurrent layer l, 2 + L the head (0 = all).
size_t group_of(const engine::TensorSlot& slot, int layers) {
  if (slot.name.rfind("embedding.", 0) == 0) return 1;
  if (slot.layer >= 0) return 2 + static_cast<size_t>(slot.layer);
  return 2 + static_cast<size_t>(layers);
}

}  // namespace

std::vector<std::string> FidelityProbe::group_names(const engine::ModelConfig& config) {
  std::vector<std::string> names = {"all", "embedding"};
  for (int l = 0; l < config.layers; ++l) names.push_back("rnn.l" + std::to_string(l));
  names.push_back("head");
  return names;
}

FidelityProbe::FidelityProbe(const RunSettings& s, const data::Dataset& dataset, const data::WindowPlan& train,
                             const engine::Model& model, int rows)
    : config_(model.config()),
      horizon_(rounded_horizon(s)),
      lag_((horizon_ - s.train.k2) / s.train.k1),
      long_windows_(dataset.windows(long_plan(train, horizon_))),
      ring_(static_cast<size_t>(lag_ + 1)),
      long_grads_(model.layout().size()),
      groups_(group_names(config_).size()) {
  for (auto& saved : ring_) saved.state = model.make_state(rows);
  for (const engine::TensorSlot& slot : model.layout().slots()) {
    groups_[0].emplace_back(slot.offset, slot.size);
    groups_[group_of(slot, config_.layers)].emplace_back(slot.offset, slot.size);
  }
}

void FidelityProbe::remember(const data::Window& w, const engine::RecurrentState& carried, bool carry_state) {
  Saved& saved = ring_[static_cast<size_t>(w.index % static_cast<int64_t>(ring_.size()))];
  saved.epoch = w.epoch, saved.index = w.index;
  if (w.reset || !carry_state) {
    saved.state.zero();
  } else {
    saved.state.h = carried.h, saved.state.c = carried.c;
  }
}

void FidelityProbe::long_gradient(engine::Model& model, const data::Window& w, RankGroup& group) {
  long_windows_.seek({w.epoch, w.index});
  TBPTT_CHECK(long_windows_.next(long_window_), "the long-horizon window of a training window must exist");
  TBPTT_CHECK(long_window_.T - long_window_.new_from == w.T - w.new_from,
              "the long window must end with the same new steps as the training window");
  // Its initial state: zero at a sequence start, else training window n - j's (the ring holds it).
  engine::RecurrentState state = ring_.front().state;
  if (long_window_.reset) {
    state.zero();
  } else {
    const Saved& saved = ring_[static_cast<size_t>((w.index - lag_) % static_cast<int64_t>(ring_.size()))];
    TBPTT_CHECK(saved.index == w.index - lag_ && saved.epoch == w.epoch,
                "the probe's ring lacks the initial state of window " + std::to_string(w.index - lag_));
    state.h = saved.state.h, state.c = saved.state.c;
  }
  engine::WindowBatch batch = view(long_window_);
  batch.carry_from = batch.T;  // nothing is carried out of the probe
  const engine::LossSums sums = model.forward_backward(long_grads_, state, batch);
  double shared[1] = {static_cast<double>(sums.targets)};
  group.allreduce_sum(long_grads_, shared);
  targets_ = shared[0];
}

std::vector<results::FidelityRow> FidelityProbe::compare(std::span<const float> truncated, int64_t update) const {
  std::vector<results::FidelityRow> rows;
  for (size_t g = 0; g < groups_.size(); ++g) {
    double dot = 0, tt = 0, ll = 0, dd = 0;
    for (const auto& [offset, size] : groups_[g])
      for (size_t i = offset; i < offset + size; ++i) {
        const double t = truncated[i], l = long_grads_[i];
        dot += t * l, tt += t * t, ll += l * l, dd += (t - l) * (t - l);
      }
    if (groups_[g].empty()) continue;  // no embedding for dense inputs
    results::FidelityRow row;
    row.update = update;
    row.horizon = horizon_;
    row.group = static_cast<int64_t>(g);
    row.cosine = dot / std::sqrt(tt * ll);
    row.rel_error = std::sqrt(dd / ll);
    row.norm_truncated = std::sqrt(tt) / targets_;
    row.norm_long = std::sqrt(ll) / targets_;
    rows.push_back(row);
  }
  return rows;
}

}  // namespace tbptt::harness
