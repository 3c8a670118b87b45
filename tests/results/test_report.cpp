// The report on a hand-made sweep whose order, groups and Pareto front are known by inspection.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <sstream>

#include "common/error.h"
#include "results/report.h"
#include "tests/results/synthetic_sweep.h"
#include "tests/results/temp_dir.h"

namespace tbptt::results {
namespace {

RunSummary make_run(const std::string& id, int64_t k1, int64_t batch, double valid, double rate,
                    double memory, const std::string& status = "completed") {
  RunSummary run;
  run.run_id = id;
  run.status = status;
  run.parameters = {{"tbptt.k1", k1}, {"train.batch", batch}};
  run.final_valid_loss = valid;
  run.best_valid_loss = valid;
  run.final_train_loss = valid - 0.1;
  run.tokens_per_s = rate;
  run.peak_rss_bytes = memory;
  run.wall_time_s = 10;
  run.updates = 100;
  return run;
}

// A and F tie on every measure (neither dominates the other); C is beaten by B on all three;
// D is slow to lose but fast and small; E failed, so it is not ranked despite its low loss;
// G has no valid loss.
SweepSummary hand_sweep() {
  SweepSummary sweep;
  sweep.experiment = "hand";
  sweep.swept = {"tbptt.k1", "train.batch"};
  sweep.runs = {
      make_run("A", 20, 16, 1.0, 100, 500),   make_run("B", 20, 64, 1.1, 200, 500),
      make_run("C", 5, 64, 1.2, 150, 600),    make_run("D", 5, 16, 1.3, 300, 100),
      make_run("E", 5, 16, 0.5, 999, 1, "failed"), make_run("F", 20, 16, 1.0, 100, 500),
      make_run("G", 100, 16, kNaN, 50, 900, "incomplete"),
  };
  sweep.runs[4].error = "engine: NaN, at update 7";
  return sweep;
}

// CSV sections: "# title" line, header, rows, blank line. Returns title -> rows (header first).
std::map<std::string, std::vector<std::vector<std::string>>> parse_csv(const std::string& text) {
  std::map<std::string, std::vector<std::vector<std::string>>> sections;
  std::istringstream in(text);
  std::string line, title;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.rfind("# ", 0) == 0) {
      title = line.substr(2, line.find(' ', 2) - 2);  // first word: Runs, Groups, Failures, Pareto
      continue;
    }
    std::vector<std::string> cells;
    std::string cell;
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (c == '"' && quoted && i + 1 < line.size() && line[i + 1] == '"') { cell += '"'; ++i; }
      else if (c == '"') quoted = !quoted;
      else if (c == ',' && !quoted) { cells.push_back(cell); cell.clear(); }
      else cell += c;
    }
    cells.push_back(cell);
    sections[title].push_back(cells);
  }
  return sections;
}

std::vector<std::string> first_column(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::string> ids;
  for (size_t i = 1; i < rows.size(); ++i) ids.push_back(rows[i][0]);
  return ids;
}

std::string run_report(const SweepSummary& sweep, ReportFormat format, std::vector<std::string> by = {}) {
  std::ostringstream out;
  report(sweep, ReportOptions{std::move(by), format}, out);
  return out.str();
}

TEST(Report, RunsAreSortedByFinalValidLossWithMissingLast) {
  const auto sections = parse_csv(run_report(hand_sweep(), ReportFormat::csv));
  const auto& runs = sections.at("Runs");
  EXPECT_EQ(first_column(runs), (std::vector<std::string>{"E", "A", "F", "B", "C", "D", "G"}));
  EXPECT_EQ(runs[0][0], "run_id");
  EXPECT_EQ(runs[0][2], "tbptt.k1");
  EXPECT_EQ(runs[0][3], "train.batch");
  EXPECT_EQ(runs[1][2], "5");
  EXPECT_EQ(runs[1][3], "16");
  const auto memory = std::find(runs[0].begin(), runs[0].end(), "peak_rss_bytes") - runs[0].begin();
  EXPECT_EQ(runs[2][memory], "500");  // CSV keeps bytes
}

TEST(Report, FailuresListEveryRunThatDidNotComplete) {
  const auto sections = parse_csv(run_report(hand_sweep(), ReportFormat::csv));
  const auto& failures = sections.at("Failures");
  ASSERT_EQ(failures.size(), 3u);
  EXPECT_EQ(failures[1], (std::vector<std::string>{"E", "failed", "engine: NaN, at update 7"}));
  EXPECT_EQ(failures[2][0], "G");
  EXPECT_EQ(failures[2][1], "incomplete");
}

TEST(Report, ParetoFrontKeepsOnlyUnbeatenCompletedRuns) {
  const auto sections = parse_csv(run_report(hand_sweep(), ReportFormat::csv));
  EXPECT_EQ(first_column(sections.at("Pareto")), (std::vector<std::string>{"A", "F", "B", "D"}));
}

TEST(Report, ParetoIgnoresAMeasureNoRunHas) {
  SweepSummary sweep = hand_sweep();
  for (auto& run : sweep.runs) run.peak_rss_bytes = kNaN;
  // Without memory, D (slowest to learn, fastest) and B still stand; C is beaten by B.
  const auto sections = parse_csv(run_report(sweep, ReportFormat::csv));
  EXPECT_EQ(first_column(sections.at("Pareto")), (std::vector<std::string>{"A", "F", "B", "D"}));
  sweep.runs[3].tokens_per_s = 120;  // now B beats D on both remaining measures
  EXPECT_EQ(first_column(parse_csv(run_report(sweep, ReportFormat::csv)).at("Pareto")),
            (std::vector<std::string>{"A", "F", "B"}));
}

TEST(Report, GroupsByShortKeyOrderedByMeanLossOfCompletedRuns) {
  const auto sections = parse_csv(run_report(hand_sweep(), ReportFormat::csv, {"k1"}));
  const auto& groups = sections.at("Groups");
  ASSERT_EQ(groups.size(), 4u);
  EXPECT_EQ(groups[0][0], "tbptt.k1");
  EXPECT_EQ(groups[0][1], "runs");
  EXPECT_EQ(groups[0][2], "completed");
  EXPECT_EQ(groups[0][3], "final_valid_mean");
  // k1=20: A, B, F -> mean 1.0333; k1=5: C, D completed (E failed) -> 1.25; k1=100: none.
  EXPECT_EQ(first_column(groups), (std::vector<std::string>{"20", "5", "100"}));
  EXPECT_EQ(groups[1][1], "3");
  EXPECT_EQ(groups[1][2], "3");
  EXPECT_NEAR(std::stod(groups[1][3]), (1.0 + 1.1 + 1.0) / 3, 1e-9);
  EXPECT_NEAR(std::stod(groups[1][4]), std::sqrt(0.01 / 3), 1e-9);  // sample std of 1, 1.1, 1
  EXPECT_EQ(groups[2][1], "3");
  EXPECT_EQ(groups[2][2], "2");
  EXPECT_NEAR(std::stod(groups[2][3]), 1.25, 1e-12);
  EXPECT_EQ(groups[3][3], "");  // no completed run with k1=100
  // Runs stay together by group, in group order, by loss within a group.
  EXPECT_EQ(first_column(sections.at("Runs")),
            (std::vector<std::string>{"A", "F", "B", "E", "C", "D", "G"}));
  EXPECT_EQ(sections.at("Runs")[0][2], "tbptt.k1");  // group keys lead
}

TEST(Report, GroupsByTwoKeysPutThemFirst) {
  const auto sections = parse_csv(run_report(hand_sweep(), ReportFormat::csv, {"batch", "tbptt.k1"}));
  const auto& groups = sections.at("Groups");
  EXPECT_EQ(groups[0][0], "train.batch");
  EXPECT_EQ(groups[0][1], "tbptt.k1");
  EXPECT_EQ(groups.size(), 1u + 5u);  // (16,20) (64,20) (64,5) (16,5) (16,100)
}

TEST(Report, UnknownOrAmbiguousKeysAreConfigErrors) {
  try {
    run_report(hand_sweep(), ReportFormat::table, {"k3"});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.setting(), "--by");
    EXPECT_EQ(e.value(), "k3");
    EXPECT_NE(e.allowed().find("tbptt.k1"), std::string::npos);
    EXPECT_NE(e.allowed().find("train.batch"), std::string::npos);
  }
  SweepSummary sweep = hand_sweep();
  sweep.swept.push_back("model.k1");
  EXPECT_THROW(run_report(sweep, ReportFormat::table, {"k1"}), ConfigError);
  EXPECT_NO_THROW(run_report(sweep, ReportFormat::table, {"tbptt.k1"}));
  EXPECT_THROW(parse_report_format("json"), ConfigError);
  EXPECT_EQ(parse_report_format("markdown"), ReportFormat::markdown);
}

TEST(Report, MarkdownAndTableFormats) {
  const std::string markdown = run_report(hand_sweep(), ReportFormat::markdown);
  EXPECT_NE(markdown.find("## Sweep hand: 7 runs (5 completed, 1 failed, 1 incomplete)"), std::string::npos);
  EXPECT_NE(markdown.find("| run_id | status | tbptt.k1 | train.batch | final_valid_loss |"), std::string::npos);
  EXPECT_NE(markdown.find("| --- |"), std::string::npos);
  EXPECT_NE(markdown.find("| A | completed | 20 | 16 | 1.0000 |"), std::string::npos) << markdown;

  const std::string table = run_report(hand_sweep(), ReportFormat::table);
  EXPECT_NE(table.find("Sweep hand: 7 runs"), std::string::npos);
  EXPECT_NE(table.find("peak_rss_MiB"), std::string::npos);
  // Columns line up: every row of the runs table is as wide as its header up to the last column.
  std::istringstream in(table);
  std::string line;
  while (std::getline(in, line) && line.rfind("run_id", 0) != 0) {}
  const size_t loss_column = line.find("final_valid_loss");
  ASSERT_NE(loss_column, std::string::npos);
  std::getline(in, line);  // E: 0.5000 right-aligned under the header
  EXPECT_EQ(line.substr(loss_column, 16), "          0.5000") << line;
}

TEST(Report, ReadsTheSyntheticIndex) {
  testing::TempDir dir("report-index");
  testing::write_sweep(dir.path());
  std::ostringstream out;
  report(index_file(dir.path(), testing::kExperiment), ReportOptions{{"k1"}, ReportFormat::csv}, out);
  const auto sections = parse_csv(out.str());
  // Mean final valid loss falls with k1 (1/k1 term), so groups go 100, 20, 5.
  EXPECT_EQ(first_column(sections.at("Groups")), (std::vector<std::string>{"100", "20", "5"}));
  const auto runs = first_column(sections.at("Runs"));
  EXPECT_EQ(runs.front(), "k100-b16-s1");  // smallest floor: 1 + 0.01 + 0.016 + 0.001
  // Failures follow the runs' order: the killed run (k1=100) comes in the first group.
  EXPECT_EQ(first_column(sections.at("Failures")), (std::vector<std::string>{"killed-run", "failed-run"}));
}

}  // namespace
}  // namespace tbptt::results
