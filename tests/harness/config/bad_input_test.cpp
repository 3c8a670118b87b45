// The malformed-experiment corpus: every file in tests/bad_input/ must be rejected with an
// ExperimentError whose what() starts with exactly "FILE:LINE:COLUMN: " and contains a fragment
// that says what is wrong (the table: tests/bad_input/cases.tsv).

#include <gtest/gtest.h>

#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>
#include <string>

#include "harness/config/experiment.h"

namespace tbptt::harness {
namespace {

namespace fs = std::filesystem;

struct BadCase {
  std::string file, fragment;
  int line = 0, column = 0;
};

// The table lives in tests/bad_input/cases.tsv, shared with the CLI test (tests/harness/cli).
std::vector<BadCase> load_cases() {
  std::vector<BadCase> cases;
  std::ifstream in(std::string(TBPTT_BAD_INPUT_DIR) + "/cases.tsv");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    BadCase c;
    std::string number;
    std::getline(fields, c.file, '\t');
    std::getline(fields, number, '\t');
    c.line = std::stoi(number);
    std::getline(fields, number, '\t');
    c.column = std::stoi(number);
    std::getline(fields, c.fragment);
    cases.push_back(c);
  }
  return cases;
}

const std::vector<BadCase> kCases = load_cases();

std::string load_error(const std::string& path) {
  try {
    Experiment::load(path);
  } catch (const ExperimentError& e) {
    return e.what();
  }
  return "(accepted)";
}

class BadInput : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadInput, IsRejectedAtTheExactPosition) {
  const BadCase& c = GetParam();
  const std::string path = std::string(TBPTT_BAD_INPUT_DIR) + "/" + c.file;
  const std::string what = load_error(path);
  const std::string prefix = path + ":" + std::to_string(c.line) + ":" + std::to_string(c.column) + ": ";
  EXPECT_EQ(what.substr(0, prefix.size()), prefix) << what;
  EXPECT_NE(what.find(c.fragment), std::string::npos) << what;
}

std::string case_name(const ::testing::TestParamInfo<BadCase>& info) {
  std::string name = fs::path(info.param.file).stem().string();
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadInput, ::testing::ValuesIn(kCases), case_name);

TEST(BadInputCorpus, EveryFileHasExactlyOneRowAndThereAreAtLeastSixty) {
  std::set<std::string> files, rows;
  for (const auto& entry : fs::directory_iterator(TBPTT_BAD_INPUT_DIR))
    if (entry.path().extension() == ".yaml") files.insert(entry.path().filename().string());
  for (const BadCase& c : kCases) EXPECT_TRUE(rows.insert(c.file).second) << "two rows for " << c.file;
  EXPECT_EQ(files, rows);
  EXPECT_GE(files.size(), 60u);
}

// A 1 MB line is generated rather than checked in: the name is too long to be a file name.
TEST(BadInputGenerated, OneMegabyteLine) {
  const fs::path path = fs::temp_directory_path() / ("tbptt_one_megabyte_line_" + std::to_string(::getpid()) + ".yaml");
  {
    std::ofstream out(path);
    out << "name: " << std::string(1 << 20, 'a') << "\ndata: {source: copy}\n";
  }
  const std::string what = load_error(path.string());
  fs::remove(path);
  EXPECT_EQ(what.rfind(path.string() + ":1:7: name must be 1 to 128 characters", 0), 0u) << what.substr(0, 300);
  EXPECT_NE(what.find("(1048576 characters)"), std::string::npos);
  EXPECT_LT(what.size(), 400u) << "the message must not repeat the megabyte";
}

TEST(BadInputGenerated, MissingFileAndDirectoryNameOnlyThePath) {
  const std::string missing = std::string(TBPTT_BAD_INPUT_DIR) + "/no_such_experiment.yaml";
  EXPECT_EQ(load_error(missing), missing + ": no such file");
  EXPECT_EQ(load_error(TBPTT_BAD_INPUT_DIR), std::string(TBPTT_BAD_INPUT_DIR) + ": is a directory; expected an experiment YAML file");
}

TEST(BadInputGenerated, UnreadableFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "root can read any file";
  const fs::path path = fs::temp_directory_path() / ("tbptt_unreadable_" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << "name: demo\n";
  fs::permissions(path, fs::perms::none);
  const std::string what = load_error(path.string());
  fs::remove(path);
  EXPECT_EQ(what.rfind(path.string() + ": cannot be read: ", 0), 0u) << what;
}

}  // namespace
}  // namespace tbptt::harness
