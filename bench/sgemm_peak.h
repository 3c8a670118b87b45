#pragma once
// The kernel every "peak" of `make bench` runs: oneDNN sgemm, 2048^3, the best GEMM this machine
// does. bench_engine times it per thread count ("% of peak"); bench_allreduce times it on every
// rank at once (what P concurrent ranks of one thread compute together on this node: a reference
// for the data-parallel speedup, not a bound on it).

#include <dnnl.hpp>
#include <vector>

namespace tbptt::bench {

class SgemmPeak {
 public:
  static constexpr int n = 2048;
  static constexpr double gflop = 2.0 * n * n * n * 1e-9;  // per run()

  SgemmPeak() : a_(static_cast<size_t>(n) * n, 0.5f), b_(a_.size(), 0.25f), c_(a_.size()) {}
  void run() { dnnl::sgemm('N', 'N', n, n, n, 1.0f, a_.data(), n, b_.data(), n, 0.0f, c_.data(), n); }

 private:
  std::vector<float> a_, b_, c_;
};

}  // namespace tbptt::bench
