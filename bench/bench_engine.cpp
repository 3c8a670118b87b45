// Google Benchmark: one full TBPTT update (forward, backward, gradient-averaging hook, optimizer)
// and its parts, per cell, over window lengths T, batches B and widths H.
//
// FLOP accounting: engine::update_flops (GEMM FLOPs only; elementwise work is not counted):
//   recurrent layer forward  2 * T * B * G * H * (I + H)    (G = 4 LSTM, 3 GRU, 1 RNN)
//   recurrent layer backward 2 x forward                    (data and weight gradients)
//   output layer             3 x 2 * T * B * H * V          (forward, data and weight gradients)
// Counters: tokens/s (T*B per update), GFLOP/s, the oneDNN workspace bytes of one window.

#include <benchmark/benchmark.h>

#include "common/counter_rng.h"
#include "engine/trainer.h"

namespace tbptt::engine {
namespace {

struct Shape {
  Cell cell;
  int T, B, H, V, E, layers;
};

// Windows of random tokens: nothing to learn, which is exactly the Keras seed's workload.
struct Stream {
  std::vector<int32_t> x, y;
  std::vector<uint8_t> has;
  WindowBatch window;
  Stream(const Shape& s) : x(static_cast<size_t>(s.T) * s.B), y(x.size()), has(x.size(), 1) {
    for (size_t i = 0; i < x.size(); ++i) {
      x[i] = static_cast<int32_t>(rng::below(s.V, 1, 1, i));
      y[i] = static_cast<int32_t>(rng::below(s.V, 1, 2, i));
    }
    window = WindowBatch{s.T, s.B, 0, s.T, false, x.data(), nullptr, y.data(), nullptr, has.data()};
  }
};

ModelConfig model_config(const Shape& s) {
  ModelConfig m;
  m.cell = s.cell, m.layers = s.layers, m.hidden = s.H, m.vocab = s.V, m.embedding = s.E, m.outputs = s.V;
  return m;
}

void set_counters(benchmark::State& state, const Shape& s, Model& model) {
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(s.T) * s.B, benchmark::Counter::kIsIterationInvariantRate);
  const double flops = update_flops(model.config(), s.T, s.T, s.B);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["workspace_MB"] = static_cast<double>(estimate_memory(model.config(), s.T, s.B).workspace) / 1e6;
}

// The whole update, as the harness runs it (with a no-op gradient reducer: one rank).
void BM_Update(benchmark::State& state, Shape s) {
  Model model(model_config(s), 1);
  TruncatedTrainer trainer(model, TrainerConfig{}, s.B);
  Stream data(s);
  trainer.update(data.window);  // builds and caches the primitives of this shape
  for (auto _ : state) benchmark::DoNotOptimize(trainer.update(data.window));
  set_counters(state, s, model);
}

// Forward + backward only (no optimizer): the model's share of the update.
void BM_ForwardBackward(benchmark::State& state, Shape s) {
  Model model(model_config(s), 1);
  std::vector<float> grads(model.layout().size());
  RecurrentState st = model.make_state(s.B);
  Stream data(s);
  model.forward_backward(grads, st, data.window);
  for (auto _ : state) benchmark::DoNotOptimize(model.forward_backward(grads, st, data.window));
  set_counters(state, s, model);
}

void register_all() {
  // The seed language model of the Keras program: V=5000, E=128, H=256, B=32, k=20.
  const Shape seed{Cell::lstm, 20, 32, 256, 5000, 128, 1};
  benchmark::RegisterBenchmark("update/seed_lm", BM_Update, seed)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("fwd_bwd/seed_lm", BM_ForwardBackward, seed)->Unit(benchmark::kMillisecond);
  for (Cell cell : {Cell::lstm, Cell::gru, Cell::rnn_tanh})
    for (int T : {5, 10, 20, 50, 100, 200})
      for (int B : {16, 32, 64, 128})
        for (int H : {128, 256, 512}) {
          const Shape s{cell, T, B, H, 1000, 128, 1};
          const std::string n = std::string("update/") + name(cell) + "/T" + std::to_string(T) + "/B" + std::to_string(B) + "/H" + std::to_string(H);
          benchmark::RegisterBenchmark(n.c_str(), BM_Update, s)->Unit(benchmark::kMillisecond);
        }
}

}  // namespace
}  // namespace tbptt::engine

int main(int argc, char** argv) {
  tbptt::engine::register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
