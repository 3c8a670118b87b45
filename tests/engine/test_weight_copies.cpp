// WeightCopies' own packing loop (engine/weight_copies.h) against oneDNN's reorder, byte for byte:
// each layout it packs, from a plain and from a transposed f32 view, at shapes that fill whole
// blocks and at shapes whose padding must come out zero.

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "engine/weight_copies.h"

namespace tbptt::engine::testing {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct PackCase {
  memory::dim K, N;
  bool transposed;  // the view reads a [N][K] buffer by columns, as the LSTM's W_hh^T
  dt type;
  tag layout;
};

class PackingTest : public ::testing::TestWithParam<PackCase> {};

TEST_P(PackingTest, MatchesTheOnednnReorderByteForByte) {
  const PackCase c = GetParam();
  const dnnl::engine cpu(dnnl::engine::kind::cpu, 0);
  dnnl::stream s(cpu);
  std::vector<float> values(static_cast<size_t>(c.K * c.N));
  for (size_t i = 0; i < values.size(); ++i)  // values that bf16 must round (and some ties)
    values[i] = static_cast<float>((static_cast<int64_t>(i * 2654435761u % 20011) - 10005)) / 977.0f + (i % 7 == 0 ? 1.0f / 256 : 0.0f);
  const memory::dims strides = c.transposed ? memory::dims{1, c.K} : memory::dims{c.N, 1};
  memory user(memory::desc({c.K, c.N}, dt::f32, strides), cpu, values.data());
  const memory::desc layout({c.K, c.N}, c.type, c.layout);

  const WeightCopies::Packing p = WeightCopies::packing(user.get_desc(), layout);
  ASSERT_NE(p.kind, WeightCopies::Packing::none) << "this pair should be packed by tbptt";
  memory expected(layout, cpu);
  std::memset(expected.get_data_handle(), 0x5a, layout.get_size());  // the reorder must write the padding
  dnnl::reorder(user, expected).execute(s, user, expected);
  s.wait();
  std::vector<unsigned char> packed(layout.get_size(), 0xa5);
  WeightCopies::pack(packed.data(), values.data(), p);
  EXPECT_EQ(std::memcmp(packed.data(), expected.get_data_handle(), packed.size()), 0);

  // The same through a copy: refresh() packs, and again after set_stale().
  WeightCopies copies(cpu);
  WeightCopies::Copy& copy = copies.of(user, layout);
  WeightCopies::refresh(&copy, s);
  EXPECT_EQ(std::memcmp(copy.mem.get_data_handle(), expected.get_data_handle(), packed.size()), 0);
  values[0] += 1.0f;
  WeightCopies::refresh(&copy, s);  // not stale: unchanged
  EXPECT_EQ(std::memcmp(copy.mem.get_data_handle(), expected.get_data_handle(), packed.size()), 0);
  copies.set_stale();
  WeightCopies::refresh(&copy, s);
  EXPECT_NE(std::memcmp(copy.mem.get_data_handle(), expected.get_data_handle(), packed.size()), 0);
}

INSTANTIATE_TEST_SUITE_P(Layouts, PackingTest,
                         ::testing::Values(PackCase{256, 1024, false, dt::bf16, tag::BA16a64b2a},
                                           PackCase{1024, 256, true, dt::bf16, tag::BA16a64b2a},
                                           PackCase{96, 40, false, dt::bf16, tag::BA16a64b2a},
                                           PackCase{70, 130, true, dt::bf16, tag::BA16a64b2a},
                                           PackCase{256, 1024, false, dt::f32, tag::BA16a64b},
                                           PackCase{1024, 256, true, dt::f32, tag::BA16a64b},
                                           PackCase{37, 100, true, dt::f32, tag::BA16a64b},
                                           PackCase{128, 1024, false, dt::bf16, tag::ab},
                                           PackCase{33, 70, true, dt::bf16, tag::ab}));

TEST(Packing, LeavesOtherPairsToTheReorder) {
  const memory::desc ldigo({1, 1, 8, 4, 8}, dt::f32, tag::ldigo);
  EXPECT_EQ(WeightCopies::packing(ldigo, memory::desc({1, 1, 8, 4, 8}, dt::bf16, tag::any)).kind,
            WeightCopies::Packing::none);
  const memory::desc plain({64, 64}, dt::f32, tag::ab);
  EXPECT_EQ(WeightCopies::packing(plain, memory::desc({64, 64}, dt::f32, tag::ba)).kind, WeightCopies::Packing::none);
}

}  // namespace
}  // namespace tbptt::engine::testing
