// Google Benchmark: one full TBPTT update (forward, backward, gradient-averaging hook, optimizer)
// and its parts, for the three configurations `make bench` compares with PyTorch (workloads.h)
// in f32 and bf16, for a grid of cells x window T x batch B x width H, and the machine's peaks.
//
// FLOP accounting: engine::update_flops (GEMM FLOPs only; elementwise work is not counted):
//   recurrent layer forward  2 * T * B * G * H * (I + H)    (G = 4 LSTM, 3 GRU, 1 RNN)
//   recurrent layer backward 2 x forward                    (data and weight gradients)
//   output layer             3 x 2 * T * B * H * V          (forward, data and weight gradients;
//                                                            T = 1 for a last-step head)
// Counters: tokens/s (T*B per update), updates/s, GFLOP/s, the update's parts in ms (forward,
// backward, optimizer incl. gradient norm), the oneDNN workspace of one window, threads.
// Times are wall-clock (UseRealTime): the work runs on OpenMP threads.

#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <dnnl.hpp>
#include <string>
#include <vector>

#include "bench/sgemm_peak.h"
#include "bench/workloads.h"
#include "engine/bf16.h"
#include "engine/denormals.h"

namespace tbptt::bench {
namespace {

using engine::Precision;

void rate_counters(benchmark::State& state, const engine::ModelConfig& m, int T, int new_steps, int B) {
  using benchmark::Counter;
  state.counters["tokens/s"] = Counter(static_cast<double>(T) * B, Counter::kIsIterationInvariantRate);
  state.counters["updates/s"] = Counter(1, Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] = Counter(engine::update_flops(m, T, new_steps, B) * 1e-9, Counter::kIsIterationInvariantRate);
  state.counters["workspace_MB"] = static_cast<double>(engine::estimate_memory(m, T, B).workspace) / 1e6;
  state.counters["threads"] = omp_get_max_threads();
}

// The whole update as the harness runs it, on one rank (no reducer).
void BM_Update(benchmark::State& state, const Workload& w) {
  engine::Model model(w.model, 1);
  engine::TruncatedTrainer trainer(model, w.trainer, w.B);
  SyntheticWindows data(w, 0, w.B);
  trainer.update(data.next());  // builds and caches the primitives of this shape
  double fwd = 0, bwd = 0, opt = 0;
  for (auto _ : state) {
    const engine::UpdateStats s = trainer.update(data.next());
    fwd += s.pass.forward, bwd += s.pass.backward, opt += s.optimizer;
  }
  rate_counters(state, w.model, w.T, w.T, w.B);
  using benchmark::Counter;
  state.counters["fwd_ms"] = Counter(fwd * 1e3, Counter::kAvgIterations);
  state.counters["bwd_ms"] = Counter(bwd * 1e3, Counter::kAvgIterations);
  state.counters["opt_ms"] = Counter(opt * 1e3, Counter::kAvgIterations);
}

// Forward only (evaluation): the state carried, no workspace, no gradient.
void BM_Forward(benchmark::State& state, const Workload& w) {
  engine::Model model(w.model, 1);
  engine::RecurrentState st = model.make_state(w.B);
  SyntheticWindows data(w, 0, w.B);
  engine::evaluate_window(model, st, data.next());
  for (auto _ : state) benchmark::DoNotOptimize(engine::evaluate_window(model, st, data.next()));
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(w.T) * w.B, benchmark::Counter::kIsIterationInvariantRate);
}

// The optimizer's share: gradient norm and one Adam step over the flat buffer.
void BM_Optimizer(benchmark::State& state, const Workload& w) {
  const engine::ParamLayout layout(w.model);
  std::vector<float> params(layout.size(), 0.5f), grads(layout.size(), 1e-3f);
  engine::Optimizer opt(w.trainer.optimizer, layout.size());
  for (auto _ : state) {
    benchmark::DoNotOptimize(engine::global_norm(grads, 1.0));
    opt.step(params, grads, 1.0, w.trainer.optimizer.lr);
  }
  state.counters["params"] = static_cast<double>(layout.size());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(layout.size()) * 7 * 4);  // p, g, m, v read; p, m, v written
}

// Why the engine flushes denormals (engine/denormals.h): the same Adam step with every moment
// denormal, as an unseen word's moments are 750-900 updates after its last occurrence, with the
// flush on every thread (as a model sets it) and off.
void BM_OptimizerDenormals(benchmark::State& state, const Workload& w, bool flush) {
  engine::set_flush_denormals(flush);
  const size_t n = engine::ParamLayout(w.model).size();
  std::vector<float> params(n, 0.5f), grads(n, 0.0f), moments(engine::Optimizer::state_size(w.trainer.optimizer, n));
  engine::Optimizer opt(w.trainer.optimizer, n, moments);
  for (auto _ : state) {
    state.PauseTiming();
    std::fill(moments.begin(), moments.end(), 1e-39f);
    state.ResumeTiming();
    opt.step(params, grads, 1.0, w.trainer.optimizer.lr);
  }
  engine::flush_denormals();  // back to the mode main() set
  state.counters["params"] = static_cast<double>(n);
}

// The sgemm peak the table's "% of peak" refers to (oneDNN, 2048^3), and the bf16 matmul peak.
void BM_PeakSgemm(benchmark::State& state) {
  SgemmPeak peak;
  for (auto _ : state) peak.run();
  state.counters["GFLOP/s"] = benchmark::Counter(SgemmPeak::gflop, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = omp_get_max_threads();
}

void BM_PeakBf16Matmul(benchmark::State& state) {
  using dnnl::memory;
  const memory::dim n = 2048;
  const dnnl::engine e(dnnl::engine::kind::cpu, 0);
  dnnl::stream s(e);
  const memory::desc ab({n, n}, memory::data_type::bf16, memory::format_tag::ab);
  const memory::desc c({n, n}, memory::data_type::f32, memory::format_tag::ab);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(ab, ab, c), e);
  const dnnl::matmul mm(pd);
  memory A(ab, e), B(ab, e), C(c, e);
  std::fill_n(static_cast<uint16_t*>(A.get_data_handle()), n * n, 0x3f00);  // 0.5
  std::fill_n(static_cast<uint16_t*>(B.get_data_handle()), n * n, 0x3e80);  // 0.25
  for (auto _ : state) {
    mm.execute(s, {{DNNL_ARG_SRC, A}, {DNNL_ARG_WEIGHTS, B}, {DNNL_ARG_DST, C}});
    s.wait();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * n * n * n * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = omp_get_max_threads();
}

void register_all() {
  benchmark::RegisterBenchmark("peak/sgemm_2048", BM_PeakSgemm)->UseRealTime()->Unit(benchmark::kMillisecond);
  if (engine::cpu_supports_bf16())
    benchmark::RegisterBenchmark("peak/bf16_matmul_2048", BM_PeakBf16Matmul)->UseRealTime()->Unit(benchmark::kMillisecond);
  for (Precision p : {Precision::f32, Precision::bf16}) {
    if (p == Precision::bf16 && !engine::cpu_supports_bf16()) continue;
    for (const Workload& w : workloads(p)) {
      const std::string tail = w.name + "/" + engine::name(p);
      benchmark::RegisterBenchmark(("update/" + tail).c_str(), BM_Update, w)->UseRealTime()->Unit(benchmark::kMillisecond);
      if (p == Precision::f32) {  // the same update with the LSTM on oneDNN's RNN primitive
        Workload onednn = w;
        onednn.model.lstm_kernel = engine::LstmKernel::primitive;
        benchmark::RegisterBenchmark(("update/" + tail + "_rnn_primitive").c_str(), BM_Update, onednn)
            ->UseRealTime()->Unit(benchmark::kMillisecond);
      }
      if (w.model.folds_embedding(w.T, w.B)) {  // the same update with X0 = embedding rows through W_ih
        Workload unfolded = w;
        unfolded.model.embedding_fold = engine::EmbeddingFold::never;
        benchmark::RegisterBenchmark(("update/" + tail + "_unfolded").c_str(), BM_Update, unfolded)
            ->UseRealTime()->Unit(benchmark::kMillisecond);
      }
      benchmark::RegisterBenchmark(("forward/" + tail).c_str(), BM_Forward, w)->UseRealTime()->Unit(benchmark::kMillisecond);
      if (p != Precision::f32) continue;
      benchmark::RegisterBenchmark(("optimizer/" + w.name).c_str(), BM_Optimizer, w)->UseRealTime()->Unit(benchmark::kMillisecond);
      for (const bool flush : {true, false})
        benchmark::RegisterBenchmark(("optimizer/" + w.name + "/denormal_moments/" + (flush ? "flushed" : "kept")).c_str(),
                                     BM_OptimizerDenormals, w, flush)
            ->UseRealTime()->Unit(benchmark::kMillisecond);
    }
  }
  // The grid: a token model (V = 1000, E = 128), one layer, Adam, every cell, T, B, H.
  for (engine::Cell cell : {engine::Cell::lstm, engine::Cell::gru, engine::Cell::rnn_tanh})
    for (int T : {5, 10, 20, 50, 100, 200})
      for (int B : {16, 32, 64, 128})
        for (int H : {128, 256, 512}) {
          Workload w;
          w.model.cell = cell, w.model.hidden = H, w.model.vocab = 1000, w.model.embedding = 128, w.model.outputs = 1000;
          w.T = T, w.B = B;
          w.name = std::string("grid/") + engine::name(cell) + "/T" + std::to_string(T) + "/B" + std::to_string(B) + "/H" + std::to_string(H);
          benchmark::RegisterBenchmark(w.name.c_str(), BM_Update, w)->UseRealTime()->Unit(benchmark::kMillisecond);
        }
}

}  // namespace
}  // namespace tbptt::bench

int main(int argc, char** argv) {
  tbptt::bench::register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  tbptt::engine::flush_denormals();  // as a model sets it: every benchmark runs in the engine's mode
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
