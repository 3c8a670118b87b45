// Google Benchmark under MPI (`mpirun -np P bench_allreduce`):
//   allreduce/<workload>      MPI_Allreduce of the flat gradient buffer at the workload's real size
//   data_parallel/<workload>  the whole update on P ranks x B/P rows, gradients averaged through the
//                             harness's RankGroup (exactly what `tbptt run` does); with -np 1 it is
//                             the one-rank baseline of the same global batch
//   peak/sgemm_2048_every_rank  the sgemm peak kernel on every rank at once, GFLOP/s summed over the
//                             ranks: what P ranks x 1 thread compute together on this node, a
//                             reference for data_parallel's speedup (not a bound: the kernel
//                             streams 50 MB and competes for memory more than the workloads)
//   data_parallel_rnn_primitive/<workload>  the same with the LSTM on oneDNN's RNN primitive
//                             instead of tbptt's GEMM cell (the cell speeds up 1 rank x B rows
//                             more than P ranks x B/P rows, which lowers its speedup)
// Every rank runs every iteration (collectives); an iteration's time is the slowest rank's
// (UseManualTime with MPI_MAX), and only rank 0 reports: the others get a silent reporter and
// their --benchmark_out is stripped. Iteration counts are fixed so every rank agrees on them.

#include <benchmark/benchmark.h>
#include <mpi.h>
#include <omp.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "bench/sgemm_peak.h"
#include "bench/workloads.h"
#include "harness/rank_group.h"
#include "harness/shared_step.h"

namespace tbptt::bench {
namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double slowest(double seconds) {
  MPI_Allreduce(MPI_IN_PLACE, &seconds, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return seconds;
}

int world_size() {
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

void BM_Allreduce(benchmark::State& state, const Workload& w) {
  const size_t n = engine::ParamLayout(w.model).size();
  std::vector<float> grads(n, 1.0f);
  for (auto _ : state) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = now();
    MPI_Allreduce(MPI_IN_PLACE, grads.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    state.SetIterationTime(slowest(now() - t0));
  }
  state.counters["MB"] = static_cast<double>(n) * sizeof(float) / 1e6;
  state.counters["ranks"] = world_size();
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n * sizeof(float)));
}

void BM_PeakEveryRank(benchmark::State& state) {
  SgemmPeak peak;
  for (auto _ : state) {
    MPI_Barrier(MPI_COMM_WORLD);  // every rank starts together: they compete for the node as ranks do
    const double t0 = now();
    peak.run();
    state.SetIterationTime(slowest(now() - t0));
  }
  state.counters["GFLOP/s"] = benchmark::Counter(SgemmPeak::gflop * world_size(), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["ranks"] = world_size();
  state.counters["threads"] = omp_get_max_threads();
}

void BM_DataParallel(benchmark::State& state, const Workload& w) {
  const int P = world_size();
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const int rows = w.B / P;  // the workloads' batches divide by 1, 2, 4, 8, 16
  MPI_Comm comm;
  MPI_Comm_dup(MPI_COMM_WORLD, &comm);
  harness::RankGroup group(comm);
  harness::Replica replica = harness::make_replica(group, w.model, 1, w.trainer, rows);  // as `tbptt run` does
  engine::TruncatedTrainer& trainer = *replica.trainer;
  SyntheticWindows data(w, rank * rows, rows);
  trainer.update(data.next());
  double allreduce = 0, total = 0;
  for (auto _ : state) {
    const double t0 = now();
    const engine::UpdateStats s = trainer.update(data.next());
    const double t = now() - t0;
    allreduce += s.allreduce, total += t;
    state.SetIterationTime(slowest(t));
  }
  using benchmark::Counter;
  state.counters["tokens/s"] = Counter(static_cast<double>(w.T) * w.B, Counter::kIsIterationInvariantRate);
  state.counters["updates/s"] = Counter(1, Counter::kIsIterationInvariantRate);
  state.counters["allreduce_share"] = allreduce / total;  // rank 0's: includes waiting for the slower rank
  state.counters["ranks"] = P;
  state.counters["threads"] = omp_get_max_threads();
}

class SilentReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

}  // namespace
}  // namespace tbptt::bench

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  // Ranks other than 0 must not write the output file: drop --benchmark_out[_format]=... there.
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i)
    if (rank == 0 || std::strncmp(argv[i], "--benchmark_out", 15) != 0) args.push_back(argv[i]);
  int n = static_cast<int>(args.size());

  using namespace tbptt::bench;
  benchmark::RegisterBenchmark("peak/sgemm_2048_every_rank", BM_PeakEveryRank)->UseManualTime()->Iterations(20)->Unit(benchmark::kMillisecond);
  const std::pair<const char*, int> iterations[] = {{"seed_lm", 30}, {"seed_regressor", 400}, {"char_lm", 8}};
  for (const Workload& w : workloads(tbptt::engine::Precision::f32)) {
    int iters = 0;
    for (const auto& [name, count] : iterations)
      if (w.name == name) iters = count;
    benchmark::RegisterBenchmark(("allreduce/" + w.name).c_str(), BM_Allreduce, w)->UseManualTime()->Iterations(50)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("data_parallel/" + w.name).c_str(), BM_DataParallel, w)->UseManualTime()->Iterations(iters)->Unit(benchmark::kMillisecond);
    Workload onednn = w;
    onednn.model.lstm_kernel = tbptt::engine::LstmKernel::primitive;
    benchmark::RegisterBenchmark(("data_parallel_rnn_primitive/" + w.name).c_str(), BM_DataParallel, onednn)
        ->UseManualTime()->Iterations(iters)->Unit(benchmark::kMillisecond);
  }
  benchmark::Initialize(&n, args.data());
  if (rank == 0) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    SilentReporter silent;
    benchmark::RunSpecifiedBenchmarks(&silent);
  }
  benchmark::Shutdown();
  MPI_Finalize();
  return 0;
}
