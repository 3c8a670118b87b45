#pragma once
// A naive, double-precision reference of the engine's model, written only for the tests: plain
// loops over the cell equations as oneDNN documents them, on the same flat storage layout
// (engine/param_layout.h), with no oneDNN, no BLAS and no chunking. Central finite differences on
// it give the gradients the engine must reproduce.

#include <functional>
#include <vector>

#include "engine/model.h"

namespace tbptt::engine::testing {

// Sum of per-target losses of window w, from initial state (h0, c0) of [L][B][H] each.
double reference_loss(const ModelConfig& config, const std::vector<double>& params, const std::vector<double>& h0,
                      const std::vector<double>& c0, const WindowBatch& w);

// The states [L][B][H] after `steps` steps of w from (h0, c0).
void reference_state(const ModelConfig& config, const std::vector<double>& params, std::vector<double>& h,
                     std::vector<double>& c, const WindowBatch& w, int steps);

// d(reference_loss)/dx by central differences, for every element of x (params, h0 or c0).
std::vector<double> finite_difference(const std::vector<double>& x, double step,
                                      const std::function<double(const std::vector<double>&)>& f);

// A window with its own storage, filled deterministically from a seed.
struct OwnedWindow {
  std::vector<int32_t> tokens, target_ids;
  std::vector<float> features, target_values;
  std::vector<uint8_t> has_target;
  WindowBatch view;
};
OwnedWindow make_window(const ModelConfig& config, int T, int B, int new_from, int carry_from, uint64_t seed);

// ||a - b|| / ||b|| over a range.
double relative_error(const float* a, const double* b, size_t n);

}  // namespace tbptt::engine::testing
