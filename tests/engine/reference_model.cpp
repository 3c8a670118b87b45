#include "tests/engine/reference_model.h"

#include <cmath>
#include <functional>

#include "common/counter_rng.h"

namespace tbptt::engine::testing {
namespace {

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

struct Dims {
  int T, B, L, H, G;
};

// Runs the stack for `steps` steps; returns the top layer's outputs [steps][B][H] and updates h, c.
std::vector<double> run_stack(const ModelConfig& cfg, const ParamLayout& layout, const std::vector<double>& P,
                              std::vector<double>& h, std::vector<double>& c, const WindowBatch& w, int steps) {
  const int B = w.B, H = cfg.hidden, G = gates(cfg.cell);
  // Layer 0 input.
  int I = cfg.input_width();
  std::vector<double> x(static_cast<size_t>(steps) * B * I);
  for (int t = 0; t < steps; ++t)
    for (int b = 0; b < B; ++b)
      for (int i = 0; i < I; ++i) {
        const size_t m = static_cast<size_t>(t) * B + b;
        x[m * I + i] = cfg.token_input() ? P[layout.slot("embedding.weight").offset + w.tokens[m] * I + i]
                                         : w.features[m * I + i];
      }
  for (int l = 0; l < cfg.layers; ++l) {
    const double* Wx = P.data() + layout.weight_ih(l).offset;  // [I][G][H]
    const double* Wh = P.data() + layout.weight_hh(l).offset;  // [H][G][H]
    const double* bias = P.data() + layout.bias(l).offset;     // [Gb][H]
    std::vector<double> y(static_cast<size_t>(steps) * B * H);
    for (int b = 0; b < B; ++b) {
      double* hs = h.data() + (static_cast<size_t>(l) * B + b) * H;
      double* cs = c.empty() ? nullptr : c.data() + (static_cast<size_t>(l) * B + b) * H;
      for (int t = 0; t < steps; ++t) {
        const double* xt = x.data() + (static_cast<size_t>(t) * B + b) * I;
        std::vector<double> gx(G * H, 0.0), gh(G * H, 0.0);
        for (int g = 0; g < G; ++g)
          for (int j = 0; j < H; ++j) {
            for (int i = 0; i < I; ++i) gx[g * H + j] += xt[i] * Wx[(i * G + g) * H + j];
            for (int k = 0; k < H; ++k) gh[g * H + j] += hs[k] * Wh[(k * G + g) * H + j];
          }
        std::vector<double> hn(H);
        for (int j = 0; j < H; ++j) {
          auto pre = [&](int g) { return gx[g * H + j] + gh[g * H + j] + bias[g * H + j]; };
          if (cfg.cell == Cell::lstm) {  // gates i, f, c~, o
            const double ig = sigmoid(pre(0)), fg = sigmoid(pre(1)), cg = std::tanh(pre(2)), og = sigmoid(pre(3));
            cs[j] = fg * cs[j] + ig * cg;
            hn[j] = og * std::tanh(cs[j]);
          } else if (cfg.cell == Cell::gru) {  // linear-before-reset: u, r, o and the extra bias u'
            const double u = sigmoid(pre(0)), r = sigmoid(pre(1));
            const double o = std::tanh(gx[2 * H + j] + bias[2 * H + j] + r * (gh[2 * H + j] + bias[3 * H + j]));
            hn[j] = u * hs[j] + (1 - u) * o;
          } else {
            hn[j] = std::tanh(pre(0));
          }
        }
        for (int j = 0; j < H; ++j) hs[j] = hn[j];
        std::copy(hn.begin(), hn.end(), y.begin() + (static_cast<size_t>(t) * B + b) * H);
      }
    }
    x = std::move(y);
    I = H;
  }
  return x;
}

}  // namespace

void reference_state(const ModelConfig& config, const std::vector<double>& params, std::vector<double>& h,
                     std::vector<double>& c, const WindowBatch& w, int steps) {
  const ParamLayout layout(config);
  run_stack(config, layout, params, h, c, w, steps);
}

double reference_loss(const ModelConfig& cfg, const std::vector<double>& P, const std::vector<double>& h0,
                      const std::vector<double>& c0, const WindowBatch& w) {
  const ParamLayout layout(cfg);
  std::vector<double> h = h0, c = c0;
  const std::vector<double> top = run_stack(cfg, layout, P, h, c, w, w.T);
  const int H = cfg.hidden, N = cfg.outputs, B = w.B;
  const double* W = P.data() + layout.slot("head.weight").offset;  // [N][H]
  const double* bias = P.data() + layout.slot("head.bias").offset;
  const int from = cfg.head == Head::last_step ? w.T - 1 : w.new_from;
  double loss = 0;
  for (int t = from; t < w.T; ++t)
    for (int b = 0; b < B; ++b) {
      const size_t m = static_cast<size_t>(t) * B + b;
      if (!w.has_target[m] || (w.target_ids && w.target_ids[m] < 0)) continue;
      std::vector<double> z(N);
      for (int n = 0; n < N; ++n) {
        z[n] = bias[n];
        for (int k = 0; k < H; ++k) z[n] += W[n * H + k] * top[m * H + k];
      }
      if (cfg.loss == Loss::cross_entropy) {
        double zmax = z[0], sum = 0;
        for (double v : z) zmax = std::max(zmax, v);
        for (double v : z) sum += std::exp(v - zmax);
        loss += std::log(sum) + zmax - z[w.target_ids[m]];
      } else {
        double se = 0;
        for (int n = 0; n < N; ++n) se += (z[n] - w.target_values[m * N + n]) * (z[n] - w.target_values[m * N + n]);
        loss += se / N;
      }
    }
  return loss;
}

std::vector<double> finite_difference(const std::vector<double>& x, double step,
                                      const std::function<double(const std::vector<double>&)>& f) {
  std::vector<double> grad(x.size());
  std::vector<double> xp = x;
  for (size_t i = 0; i < x.size(); ++i) {
    xp[i] = x[i] + step;
    const double up = f(xp);
    xp[i] = x[i] - step;
    const double down = f(xp);
    xp[i] = x[i];
    grad[i] = (up - down) / (2 * step);
  }
  return grad;
}

OwnedWindow make_window(const ModelConfig& cfg, int T, int B, int new_from, int carry_from, uint64_t seed) {
  OwnedWindow o;
  const size_t TB = static_cast<size_t>(T) * B;
  o.has_target.resize(TB);
  for (size_t m = 0; m < TB; ++m) o.has_target[m] = rng::below(5, seed, 1, m) != 0;  // ~1 in 5 without target
  if (cfg.token_input()) {
    o.tokens.resize(TB);
    for (size_t m = 0; m < TB; ++m) o.tokens[m] = static_cast<int32_t>(rng::below(cfg.vocab, seed, 2, m));
  } else {
    o.features.resize(TB * cfg.input);
    for (size_t i = 0; i < o.features.size(); ++i) o.features[i] = static_cast<float>(rng::normal(seed, 3, i));
  }
  if (cfg.loss == Loss::cross_entropy) {
    o.target_ids.resize(TB);
    for (size_t m = 0; m < TB; ++m)
      o.target_ids[m] = o.has_target[m] ? static_cast<int32_t>(rng::below(cfg.outputs, seed, 4, m)) : -1;
  } else {
    o.target_values.resize(TB * cfg.outputs);
    for (size_t i = 0; i < o.target_values.size(); ++i) o.target_values[i] = static_cast<float>(rng::normal(seed, 5, i));
  }
  o.has_target.back() = 1;  // the last step always has a target, so last_step heads have a loss
  if (!o.target_ids.empty() && o.target_ids.back() < 0) o.target_ids.back() = 0;
  o.view = WindowBatch{T, B, new_from, carry_from, false,
                       o.tokens.empty() ? nullptr : o.tokens.data(),
                       o.features.empty() ? nullptr : o.features.data(),
                       o.target_ids.empty() ? nullptr : o.target_ids.data(),
                       o.target_values.empty() ? nullptr : o.target_values.data(),
                       o.has_target.data()};
  return o;
}

double relative_error(const float* a, const double* b, size_t n) {
  double diff = 0, ref = 0;
  for (size_t i = 0; i < n; ++i) {
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    ref += b[i] * b[i];
  }
  return std::sqrt(diff) / std::max(std::sqrt(ref), 1e-30);
}

}  // namespace tbptt::engine::testing
