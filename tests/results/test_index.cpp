// The sweep index: statuses, summary columns against the synthetic sweep's formulas, external
// links that survive moving the folder, and the live-writer case.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <cmath>
#include <fstream>

#include "results/run_writer.h"
#include "results/sweep_index.h"
#include "tests/results/synthetic_sweep.h"
#include "tests/results/temp_dir.h"

namespace tbptt::results {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

const RunSummary& run_named(const SweepSummary& sweep, const std::string& id) {
  for (const auto& run : sweep.runs)
    if (run.run_id == id) return run;
  throw std::out_of_range("no run " + id);
}

TEST(Index, SummaryMatchesTheSyntheticSweep) {
  TempDir dir("summary");
  testing::write_sweep(dir.path());
  const fs::path index = index_file(dir.path(), testing::kExperiment);
  EXPECT_FALSE(fs::exists(fs::path(index).concat(".tmp")));
  const SweepSummary sweep = read_index(index);
  EXPECT_EQ(sweep.experiment, "synthetic");
  EXPECT_EQ(sweep.swept, (std::vector<std::string>{"tbptt.k1", "train.batch", "seed"}));
  ASSERT_EQ(sweep.runs.size(), testing::synthetic_grid().size() + 2);

  for (const auto& grid_run : testing::synthetic_grid()) {
    const RunSummary& run = run_named(sweep, testing::run_id(grid_run));
    EXPECT_EQ(run.status, "completed");
    EXPECT_EQ(run.error, "");
    EXPECT_EQ(run.file, "synthetic/runs/" + run.run_id + ".h5");
    EXPECT_EQ(get_or(run.parameters, "tbptt.k1", int64_t{0}), grid_run.k1);
    EXPECT_EQ(get_or(run.parameters, "train.batch", int64_t{0}), grid_run.batch);
    EXPECT_EQ(get_or(run.parameters, "seed", int64_t{0}), grid_run.seed);
    EXPECT_DOUBLE_EQ(run.final_valid_loss, testing::final_valid_loss(grid_run));
    EXPECT_DOUBLE_EQ(run.best_valid_loss, testing::best_valid_loss(grid_run));
    EXPECT_DOUBLE_EQ(run.final_train_loss, testing::train_loss(grid_run, testing::kUpdates));
    EXPECT_DOUBLE_EQ(run.tokens_per_s, testing::tokens_per_s(grid_run));  // median, not mean
    EXPECT_EQ(run.peak_rss_bytes, static_cast<double>(testing::peak_rss_bytes(grid_run)));
    EXPECT_DOUBLE_EQ(run.wall_time_s, 0.1 * testing::kUpdates);
    EXPECT_EQ(run.updates, testing::kUpdates);
  }
  const RunSummary& failed = run_named(sweep, "failed-run");
  EXPECT_EQ(failed.status, "failed");
  EXPECT_EQ(failed.error, "engine: loss is NaN at update 12");
  EXPECT_EQ(failed.updates, 12);
  EXPECT_DOUBLE_EQ(failed.final_valid_loss, testing::valid_loss({20, 16, 3}, 10));
  EXPECT_TRUE(std::isnan(failed.peak_rss_bytes));

  const RunSummary& killed = run_named(sweep, "killed-run");
  EXPECT_EQ(killed.status, "incomplete");
  EXPECT_NE(killed.error.find("killed"), std::string::npos) << killed.error;
  EXPECT_EQ(killed.file, "synthetic/runs/killed-run.h5.part");
  EXPECT_EQ(killed.updates, 20);
  EXPECT_DOUBLE_EQ(killed.wall_time_s, 0.1 * 20);  // no attribute: the last row's wall_time
}

TEST(Index, LinksResolveFromAnyFolderAndAfterMovingTheResults) {
  TempDir dir("links");
  testing::write_sweep(dir.path() / "results");
  fs::rename(dir.path() / "results", dir.path() / "moved");
  const fs::path old_cwd = fs::current_path();
  fs::current_path("/");  // relative links resolve against the index's folder, not the cwd
  const std::string index = (dir.path() / "moved" / "synthetic.h5").string();
  hid_t file = H5Fopen(index.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  // The last path goes through two links: index -> run file -> its checkpoint file.
  for (const char* path : {"runs/k5-b16-s1/train/loss", "runs/killed-run/train/loss",
                           "runs/k5-b16-s1/checkpoint/0000000050/state_dict/head.weight"}) {
    hid_t dataset = H5Dopen2(file, path, H5P_DEFAULT);
    EXPECT_GE(dataset, 0) << path;
    if (dataset >= 0) H5Dclose(dataset);
  }
  H5Fclose(file);
  fs::current_path(old_cwd);
}

TEST(Index, RunningUnreadableAndPartialParameters) {
  TempDir dir("statuses");
  auto options = [&](const std::string& id) {
    RunOptions o;
    o.out_dir = dir.path();
    o.experiment = "mixed";
    o.run_id = id;
    return o;
  };
  {
    RunWriter a(options("a"), {{"tbptt.k1", int64_t{5}}, {"swept", std::vector<std::string>{"tbptt.k1"}}});
    a.finish({});
  }
  {
    RunWriter b(options("b"), {{"tbptt.k1", int64_t{20}},
                               {"tbptt.k2", int64_t{40}},
                               {"model.cell", std::string("gru")},
                               {"swept", std::vector<std::string>{"tbptt.k1", "tbptt.k2", "model.cell"}}});
    b.finish({});
  }
  std::ofstream(runs_dir(dir.path(), "mixed") / "broken.h5") << "not HDF5";
  // Beside the runs but not runs: a checkpoint folder (even one named like a run file), a stale
  // lock file and a temporary image.
  fs::create_directories(runs_dir(dir.path(), "mixed") / "a.ckpt");
  fs::create_directories(runs_dir(dir.path(), "mixed") / "odd.h5");
  std::ofstream(runs_dir(dir.path(), "mixed") / "gone.h5.lock");
  std::ofstream(runs_dir(dir.path(), "mixed") / "gone.h5.part.tmp") << "half an image";
  RunWriter live(options("live"), {{"tbptt.k1", int64_t{100}}, {"swept", std::vector<std::string>{"tbptt.k1"}}});

  rebuild_index(dir.path(), "mixed");
  const SweepSummary sweep = read_index(index_file(dir.path(), "mixed"));
  EXPECT_EQ(sweep.swept, (std::vector<std::string>{"tbptt.k1", "tbptt.k2", "model.cell"}));
  ASSERT_EQ(sweep.runs.size(), 4u) << "a, b, broken, live: nothing else in runs/ is a run";
  EXPECT_EQ(run_named(sweep, "live").status, "running");
  EXPECT_EQ(run_named(sweep, "broken").status, "unreadable");
  EXPECT_NE(run_named(sweep, "broken").error.find("broken.h5"), std::string::npos);
  // A key a run did not sweep is missing for it, whatever the column's type.
  const RunSummary& a = run_named(sweep, "a");
  // The live and the broken run have no values (their files are not read), so even tbptt.k1
  // is a float64 column with NaN for them.
  EXPECT_EQ(get_or(a.parameters, "tbptt.k1", 0.0), 5.0);
  EXPECT_EQ(find(run_named(sweep, "live").parameters, "tbptt.k1"), nullptr);
  EXPECT_EQ(find(a.parameters, "tbptt.k2"), nullptr);
  EXPECT_EQ(find(a.parameters, "model.cell"), nullptr);
  const RunSummary& b = run_named(sweep, "b");
  EXPECT_EQ(get_or(b.parameters, "tbptt.k2", 0.0), 40.0);  // float64 column: a had no value
  EXPECT_EQ(get_or(b.parameters, "model.cell", std::string()), "gru");

  live.finish({});
  EXPECT_EQ(run_named(rebuild_index(dir.path(), "mixed"), "live").status, "completed");
}

TEST(Index, AnExperimentWithoutRunsGivesAnEmptyIndex) {
  TempDir dir("empty");
  rebuild_index(dir.path(), "nothing");
  const SweepSummary sweep = read_index(index_file(dir.path(), "nothing"));
  EXPECT_TRUE(sweep.runs.empty());
  EXPECT_TRUE(sweep.swept.empty());
}

}  // namespace
}  // namespace tbptt::results
