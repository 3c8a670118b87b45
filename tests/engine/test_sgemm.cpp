// engine/sgemm.h: sgemm_blocks, which cuts C into one block per thread, against a naive
// double-precision product, for every transpose combination, C cut by rows and by columns, sides
// that are not multiples of the 16-element alignment, and beta = 0 and 1 (the LSTM's weight
// gradients accumulate). Run on 3 threads whatever the machine has, so the last block is ragged.

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <ostream>
#include <random>
#include <vector>

#include "engine/sgemm.h"

namespace tbptt::engine {
namespace {

struct Case {
  char ta, tb;
  int M, N, K;
  float beta;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.ta << c.tb << " M=" << c.M << " N=" << c.N << " K=" << c.K << " beta=" << c.beta;
}

// op(X) of a row-major [rows][cols] matrix stored as given, element (i, j).
float at(const std::vector<float>& x, char t, int ld, int i, int j) {
  return t == 'N' ? x[static_cast<size_t>(i) * ld + j] : x[static_cast<size_t>(j) * ld + i];
}

class SgemmBlocks : public ::testing::TestWithParam<Case> {};

TEST_P(SgemmBlocks, MatchesANaiveProduct) {
  const Case c = GetParam();
  ASSERT_GE(int64_t{c.M} * c.N * c.K, kBlocksMinMacs) << "too small: the blocked path would not run";
  const int lda = c.ta == 'N' ? c.K : c.M, ldb = c.tb == 'N' ? c.N : c.K;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> A(static_cast<size_t>(c.M) * c.K), B(static_cast<size_t>(c.K) * c.N),
      C(static_cast<size_t>(c.M) * c.N);
  for (auto* v : {&A, &B, &C})
    for (float& x : *v) x = u(rng);
  const std::vector<float> C0 = C;
  const int threads = omp_get_max_threads();
  omp_set_num_threads(3);
  sgemm_blocks(c.ta, c.tb, c.M, c.N, c.K, A.data(), lda, B.data(), ldb, c.beta, C.data(), c.N);
  omp_set_num_threads(threads);
  double worst = 0;
  for (int i = 0; i < c.M; ++i)
    for (int j = 0; j < c.N; ++j) {
      double exact = c.beta * C0[static_cast<size_t>(i) * c.N + j];
      for (int k = 0; k < c.K; ++k) exact += double{at(A, c.ta, lda, i, k)} * at(B, c.tb, ldb, k, j);
      worst = std::max(worst, std::abs(C[static_cast<size_t>(i) * c.N + j] - exact) / (1.0 + std::abs(exact)));
    }
  EXPECT_LT(worst, 1e-5) << ::testing::PrintToString(c);
}

// M >= N cuts rows, M < N columns; 250 and 333 leave a ragged last block.
INSTANTIATE_TEST_SUITE_P(EveryTransposeAndCut, SgemmBlocks,
                         ::testing::Values(Case{'N', 'N', 333, 64, 200, 0.0f}, Case{'N', 'T', 333, 64, 200, 1.0f},
                                           Case{'T', 'N', 333, 64, 200, 1.0f}, Case{'T', 'T', 333, 64, 200, 0.0f},
                                           Case{'N', 'N', 48, 250, 400, 1.0f}, Case{'N', 'T', 48, 250, 400, 0.0f},
                                           Case{'T', 'N', 48, 250, 400, 0.0f}, Case{'T', 'T', 48, 250, 400, 1.0f}));

}  // namespace
}  // namespace tbptt::engine
