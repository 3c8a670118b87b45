// Every input the fuzzer ever broke tbptt with (tests/fuzz/regressions/), and its seeds, replayed
// through the same checks in every build -- plain, sanitizers -- not only in the fuzzing one.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "harness/config/experiment_error.h"
#include "tests/fuzz/fuzz_experiment.h"

namespace tbptt::fuzz {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> files_in(const fs::path& folder) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.is_regular_file() && entry.path().filename() != "README.md" && entry.path().extension() != ".tsv")
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

void replay(const fs::path& folder, size_t at_least) {
  const std::vector<fs::path> files = files_in(folder);
  EXPECT_GE(files.size(), at_least) << folder;
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    try {
      check_experiment(bytes);
    } catch (const FuzzViolation& e) {
      ADD_FAILURE() << file << ": " << e.what();
    }
  }
}

TEST(FuzzReplay, Regressions) { replay(TBPTT_FUZZ_DIR "/regressions", 1); }
TEST(FuzzReplay, Seeds) { replay(TBPTT_FUZZ_DIR "/seeds", 1); }
TEST(FuzzReplay, MalformedCorpus) { replay(TBPTT_SOURCE_DIR "/tests/bad_input", 60); }
TEST(FuzzReplay, Experiments) { replay(TBPTT_SOURCE_DIR "/experiments", 5); }

// The checks must be able to fail: a message of two lines or a torn location is a violation.
TEST(FuzzReplay, BrokenAnswersAreViolations) {
  EXPECT_NO_THROW(check_error(harness::ExperimentError({"fuzz.yaml", 2, 7}, "model.hidden must be an integer")));
  EXPECT_THROW(check_error(harness::ExperimentError({"fuzz.yaml", 2, 7}, "two\nlines")), FuzzViolation);
  EXPECT_THROW(check_error(harness::ExperimentError({"fuzz.yaml", 2, 0}, "no column")), FuzzViolation);
  EXPECT_THROW(check_error(harness::ExperimentError({"other.yaml", 1, 1}, "elsewhere")), FuzzViolation);
  EXPECT_THROW(check_error(harness::ExperimentError({"--set a=\nb"}, "two-line origin")), FuzzViolation);
  EXPECT_THROW(check_error(harness::ExperimentError({"fuzz.yaml", 1, 1}, std::string(4000, 'x'))), FuzzViolation);
}

TEST(FuzzReplay, SetArgumentsFollowNulBytes) {
  using namespace std::string_literals;
  EXPECT_NO_THROW(check_experiment("name: ok\ndata: {source: copy}\n\0tbptt.k=3\0model.hidden=[1, 2]"s));
}

}  // namespace
}  // namespace tbptt::fuzz
