#pragma once
// The gradient-fidelity probe: how far is the truncated gradient from a longer-horizon one?
//
// Every fidelity.every updates, before the update of window n (weights theta_n), the probe
// computes the gradient of the SAME loss (window n's newest k1 steps) by backpropagating through
// a longer window of h' steps, then compares it with the truncated gradient the update computes.
//
//   horizon h' = k2 + j*k1, the smallest such value >= fidelity.horizon. Then the long window
//   starts exactly where training window n-j started:
//
//     training windows  ...[ n-j        ]   ...   [ n-1 ]  [   n   ]
//     long window           [<------------------ h' ----------------]
//                           ^ state = window n-j's initial state (kept in a ring of j+1 states)
//
//   so its initial state is the one the network really had there (or zero at a sequence start):
//   nothing is approximated. Both gradients are summed over the ranks of the run.
// Per parameter group (all, embedding, rnn.l<l>, head): cosine similarity, relative error
// ||g_trunc - g_long|| / ||g_long||, and both norms (per target).

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "engine/model.h"
#include "harness/rank_group.h"
#include "harness/run_settings.h"
#include "results/schema.h"

namespace tbptt::harness {

class FidelityProbe {
 public:
  FidelityProbe(const RunSettings& settings, const data::Dataset& dataset, const data::WindowPlan& train,
                const engine::Model& model, int rows);

  static std::vector<std::string> group_names(const engine::ModelConfig& config);
  int64_t horizon() const { return horizon_; }

  // Before every update: window w's initial state (zero on a reset or without carried state).
  void remember(const data::Window& w, const engine::RecurrentState& carried, bool carry_state);

  // Before the update of w: the long-horizon gradient of w's loss (a round over the group).
  void long_gradient(engine::Model& model, const data::Window& w, RankGroup& group);

  // After the update: the rows comparing it with the truncated gradient (summed over ranks).
  std::vector<results::FidelityRow> compare(std::span<const float> truncated, int64_t update) const;

 private:
  struct Saved {
    int64_t epoch = -1, index = -1;
    engine::RecurrentState state;
  };

  const engine::ModelConfig config_;
  int64_t horizon_, lag_;                 // h' and j
  data::WindowIterator long_windows_;
  data::Window long_window_;
  std::vector<Saved> ring_;               // initial states of the last j+1 windows
  std::vector<float> long_grads_;
  std::vector<std::vector<std::pair<size_t, size_t>>> groups_;  // (offset, size) slices per group
  double targets_ = 0;
};

}  // namespace tbptt::harness
