#include "harness/evaluation.h"

#include <cmath>

#include "engine/trainer.h"

namespace tbptt::harness {

engine::WindowBatch view(const data::Window& w) {
  auto ptr = [](const auto& v) { return v.empty() ? nullptr : v.data(); };
  return {w.T, w.B, w.new_from, w.carry_from, w.reset, ptr(w.tokens), ptr(w.features), ptr(w.target_ids),
          ptr(w.target_values), ptr(w.has_target)};
}

results::EvalRow evaluate_split(engine::Model& model, const data::Dataset& dataset, const RunSettings& settings,
                                data::Split split, RankGroup* group) {
  const int ranks = group ? group->size() : 1;
  const data::WindowPlan plan = eval_plan(settings, split, group ? group->rank() : 0, ranks);
  data::WindowIterator windows = dataset.windows(plan);
  engine::RecurrentState state = model.make_state(plan.batch / plan.ranks);
  data::Window w;
  double sums[3] = {0, 0, 0};  // loss, correct, targets
  while (windows.next(w)) {
    const engine::LossSums s = engine::evaluate_window(model, state, view(w));
    sums[0] += s.loss, sums[1] += s.correct, sums[2] += static_cast<double>(s.targets);
  }
  if (group && eval_sharded(settings, ranks)) group->sum(sums);
  results::EvalRow row;
  row.split = split == data::Split::valid ? results::Split::valid
              : split == data::Split::test ? results::Split::test
                                           : results::Split::train;
  row.targets = static_cast<int64_t>(sums[2]);
  row.loss = sums[0] / sums[2];
  if (model.config().loss == engine::Loss::cross_entropy) {
    row.perplexity = std::exp(row.loss);
    row.bits_per_token = row.loss / std::log(2.0);
    row.accuracy = sums[1] / sums[2];
  } else {
    row.mse = row.loss;
  }
  return row;
}

}  // namespace tbptt::harness
