// Acceptance 4: 10^8 steps of a generated source stream through a constant amount of memory,
// and every one of them is a target exactly once.

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "data/dataset.h"

namespace tbptt::data {
namespace {

int64_t rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  return -1;
}

TEST(Memory, HundredMillionStepsKeepRssFlat) {
  SourceSpec spec;
  spec.source = "random_tokens";
  spec.length = 100'000'000;
  Dataset ds(spec);
  auto it = ds.windows({.batch = 1000, .k1 = 1000, .k2 = 1000});
  ASSERT_EQ(it.windows_per_epoch(), 100);

  Window w;
  ASSERT_TRUE(it.next(w));  // the first window sizes the buffers: 10^6 steps
  const int64_t before = rss_kib();
  ASSERT_GT(before, 0);
  int64_t targets = w.targets(), checksum = 0;
  while (it.next(w)) {
    targets += w.targets();
    checksum += w.tokens[w.index] + w.target_ids[w.index];  // keeps the data observed
  }
  const int64_t growth_mib = (rss_kib() - before) / 1024;
  EXPECT_EQ(targets, 100'000'000);
  EXPECT_GT(checksum, 0);
  EXPECT_LT(growth_mib, 64) << "RSS grew by " << growth_mib << " MiB over 10^8 steps";
}

}  // namespace
}  // namespace tbptt::data
