// A writer process killed with SIGKILL, at chosen and at arbitrary moments: the .part file opens
// in h5dump and h5py (checkpoint links included), the published rows read back as an exact
// prefix, salvage finds a checkpoint, the index calls the run incomplete, and resuming keeps the
// salvaged checkpoint file and removes every file nothing links.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>

#include "common/counter_rng.h"
#include "results/run_reader.h"
#include "results/run_writer.h"
#include "results/sweep_index.h"
#include "results/writer_lock.h"
#include "tests/results/synthetic_sweep.h"
#include "tests/results/temp_dir.h"

namespace tbptt::results {
namespace {

namespace fs = std::filesystem;
using testing::kCrashRun;
using testing::TempDir;
using testing::files_in;
using testing::inode;

// Starts `results_tool <mode> <out_dir>`, waits until it prints "ready", optionally lets it run
// on for `extra`, then SIGKILLs it. Returns false if it never got ready.
bool run_and_kill(const std::string& mode, const fs::path& out_dir,
                  std::chrono::milliseconds extra = std::chrono::milliseconds(0)) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return false;
  const pid_t child = fork();
  if (child == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    execl(RESULTS_TOOL, RESULTS_TOOL, mode.c_str(), out_dir.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(pipe_fds[1]);
  std::string output;
  pollfd poll_fd{pipe_fds[0], POLLIN, 0};
  while (output.find("ready\n") == std::string::npos && poll(&poll_fd, 1, 60'000) > 0) {
    char buffer[64];
    const ssize_t n = read(pipe_fds[0], buffer, sizeof buffer);
    if (n <= 0) break;
    output.append(buffer, static_cast<size_t>(n));
  }
  const bool got_ready = output.find("ready\n") != std::string::npos;
  if (got_ready) std::this_thread::sleep_for(extra);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  close(pipe_fds[0]);
  return got_ready && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

// Runs `results_tool <mode> <out_dir>` with TBPTT_FAULT_KILL_BEFORE_LINK=<update>; true if the
// hook killed it (a tool that finishes normally means the hook did not fire).
bool killed_before_link(const std::string& mode, const fs::path& out_dir, int64_t update) {
  const pid_t child = fork();
  if (child == 0) {
    setenv("TBPTT_FAULT_KILL_BEFORE_LINK", std::to_string(update).c_str(), 1);
    execl(RESULTS_TOOL, RESULTS_TOOL, mode.c_str(), out_dir.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(child, &status, 0);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

void expect_h5dump_opens(const fs::path& file) {
  if (std::string(H5DUMP).empty()) {
    ADD_FAILURE() << "h5dump not found at configure time (Debian package hdf5-tools)";
    return;
  }
  const std::string command = std::string(H5DUMP) + " -H '" + file.string() + "' > /dev/null 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

// h5py visits the whole file and reads every dataset, through every checkpoint link too.
void expect_h5py_reads_everything(const fs::path& file) {
  const std::string command = std::string(PYTHON) + " " + CHECK_RUN_FILE + " '" + file.string() + "'";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

std::string checkpoint_name(int64_t update) { return checkpoint_file("r.h5", update).filename().string(); }

std::vector<Tensor> sorted(std::vector<Tensor> tensors) {
  std::sort(tensors.begin(), tensors.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return tensors;
}

// The checkpoint at `update` reads back exactly as results_tool wrote it.
void expect_crash_checkpoint(const Checkpoint& read, int64_t update) {
  const Checkpoint written = testing::crash_checkpoint(update);
  EXPECT_EQ(read.update, update);
  EXPECT_EQ(read.window, written.window);
  EXPECT_EQ(get_or(read.extra, "optimizer.step", int64_t{0}), update);
  const std::vector<Tensor> expected = sorted(written.state_dict);
  ASSERT_EQ(read.state_dict.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(read.state_dict[i].name, expected[i].name);
    EXPECT_EQ(read.state_dict[i].shape, expected[i].shape);
    EXPECT_EQ(read.state_dict[i].values, expected[i].values) << expected[i].name;
  }
}

// Resumes the killed run in this process as the harness would, then finishes it: the salvaged
// checkpoint's file is kept (the same inode, not a copy) and every other file in the .ckpt
// folder is gone as soon as the resumed writer has published its first image.
void resume_and_finish(const fs::path& out_dir, const Salvage& salvaged) {
  ASSERT_TRUE(salvaged.checkpoint.has_value());
  const int64_t update = salvaged.checkpoint->update;
  const fs::path part = salvaged.contents.path;
  const ino_t kept = inode(checkpoint_file(part, update));
  RunOptions options;
  options.out_dir = out_dir;
  options.experiment = "crash";
  options.run_id = "victim";
  options.flush_seconds = 3600;
  {
    RunWriter resumed(options, testing::run_attributes(kCrashRun), salvaged);
    EXPECT_EQ(files_in(checkpoint_dir(part)), std::set<std::string>{checkpoint_name(update)});
    EXPECT_EQ(inode(checkpoint_file(part, update)), kept) << "the checkpoint file was rewritten";
    resumed.finish({});
  }
  const fs::path finished = run_file(out_dir, "crash", "victim");
  EXPECT_FALSE(fs::exists(part));
  EXPECT_FALSE(fs::exists(lock_file(finished)));
  const RunContents run = read_run(finished);
  EXPECT_EQ(run.train.size(), static_cast<size_t>(update));
  EXPECT_EQ(run.checkpoints, std::vector<int64_t>{update});
  expect_crash_checkpoint(read_checkpoint(finished, update), update);
}

TEST(Crash, KilledWriterKeepsEveryFlushedRowAndLosesOnlyTheBufferedOnes) {
  TempDir dir("kill");
  ASSERT_TRUE(run_and_kill("kill-target", dir.path()));
  const fs::path runs = runs_dir(dir.path(), "crash");
  EXPECT_FALSE(fs::exists(runs / "victim.h5"));
  const fs::path part = runs / "victim.h5.part";
  ASSERT_TRUE(fs::exists(part));
  // The killed writer's lock file stays behind, but nobody holds it any more.
  ASSERT_TRUE(fs::exists(runs / "victim.h5.lock"));
  EXPECT_FALSE(WriterLock::held(runs / "victim.h5.lock"));
  EXPECT_EQ(files_in(runs), (std::set<std::string>{"victim.h5.part", "victim.h5.lock", "victim.ckpt"}));

  const RunContents run = read_run(part);
  EXPECT_EQ(get_or(run.attributes, "status", std::string()), "running");
  EXPECT_EQ(get_or(run.attributes, "tbptt.k1", int64_t{0}), kCrashRun.k1);
  // Rows 1..30 were flushed with the checkpoint; 31..50 were only buffered when the kill came.
  ASSERT_EQ(run.train.size(), 30u);
  for (int64_t u = 1; u <= 30; ++u) {
    EXPECT_EQ(run.train[u - 1].update, u);
    EXPECT_EQ(run.train[u - 1].loss, testing::train_loss(kCrashRun, u));
  }
  EXPECT_EQ(run.checkpoints, std::vector<int64_t>{30});

  const Salvage salvaged = salvage(part);
  ASSERT_TRUE(salvaged.checkpoint.has_value());
  expect_crash_checkpoint(*salvaged.checkpoint, 30);
  EXPECT_EQ(salvaged.contents.train.size(), 30u);

  const SweepSummary sweep = rebuild_index(dir.path(), "crash");
  ASSERT_EQ(sweep.runs.size(), 1u);
  EXPECT_EQ(sweep.runs[0].status, "incomplete");
  EXPECT_EQ(sweep.runs[0].updates, 30);
  EXPECT_EQ(read_index(index_file(dir.path(), "crash")).runs.at(0).status, "incomplete");
  expect_h5dump_opens(part);
  expect_h5py_reads_everything(part);
}

// What one kill of `results_tool storm` must leave, wherever it landed: the writer publishes
// after every row (an eval row after every 10th), checkpoints every 25 updates and deletes the
// one 75 updates older, so with n published train rows and newest linked checkpoint c:
//   rows        exactly 1..n; eval rows 10, 20, ... up to n (the last one may be missing)
//   links       {c-50, c-25, c} or, killed before the delete was published, also c-75
//   files       the linked ones, plus at most one other: c+25 (killed before its link) or
//               c-75 (killed after the image without it, before the file went)
void check_storm_victim(const fs::path& out_dir) {
  const fs::path part = runs_dir(out_dir, "crash") / "victim.h5.part";
  const RunContents run = read_run(part);
  const int64_t n = static_cast<int64_t>(run.train.size());
  ASSERT_GE(n, 100) << "rows flushed before 'ready' were lost";
  for (int64_t u = 1; u <= n; ++u) {
    ASSERT_EQ(run.train[u - 1].update, u);
    ASSERT_EQ(run.train[u - 1].loss, testing::train_loss(kCrashRun, u));
  }
  EXPECT_TRUE(run.eval.size() == static_cast<size_t>(n / 10) ||
              (n % 10 == 0 && run.eval.size() == static_cast<size_t>(n / 10 - 1)))
      << run.eval.size() << " eval rows with " << n << " train rows";
  for (size_t i = 0; i < run.eval.size(); ++i) {
    const int64_t u = 10 * (static_cast<int64_t>(i) + 1);
    ASSERT_EQ(run.eval[i].update, u);
    ASSERT_EQ(run.eval[i].loss, testing::eval_row(kCrashRun, u).loss);
  }

  ASSERT_FALSE(run.checkpoints.empty());
  const int64_t c = run.checkpoints.back();
  EXPECT_TRUE(c == n / 25 * 25 || (n % 25 == 0 && c == n - 25)) << "checkpoint " << c << ", rows " << n;
  const std::vector<int64_t> three = {c - 50, c - 25, c}, four = {c - 75, c - 50, c - 25, c};
  EXPECT_TRUE(run.checkpoints == three || run.checkpoints == four) << "newest " << c << ", "
                                                                   << run.checkpoints.size() << " linked";
  std::set<std::string> unlinked = files_in(checkpoint_dir(part));
  for (int64_t update : run.checkpoints) {
    EXPECT_EQ(unlinked.erase(checkpoint_name(update)), 1u) << "no file for linked checkpoint " << update;
    expect_crash_checkpoint(read_checkpoint(part, update), update);
  }
  std::erase_if(unlinked, [](const std::string& name) { return name.ends_with(".h5.tmp"); });
  EXPECT_LE(unlinked.size(), 1u);
  for (const std::string& name : unlinked)
    EXPECT_TRUE(name == checkpoint_name(c + 25) || name == checkpoint_name(c - 75)) << name;

  const Salvage salvaged = salvage(part);
  ASSERT_TRUE(salvaged.checkpoint.has_value());
  EXPECT_EQ(salvaged.checkpoint->update, c);
  EXPECT_EQ(salvaged.contents.train.size(), static_cast<size_t>(c));

  const SweepSummary sweep = rebuild_index(out_dir, "crash");
  ASSERT_EQ(sweep.runs.size(), 1u) << "the .ckpt folder is not a run";
  EXPECT_EQ(sweep.runs[0].status, "incomplete");
  EXPECT_EQ(sweep.runs[0].updates, n);
  expect_h5dump_opens(part);
  expect_h5py_reads_everything(part);
  resume_and_finish(out_dir, salvaged);
}

// Killed at arbitrary moments 0.1-0.9 s into a writer that publishes after every row. The kill
// delays come from the counter RNG; TBPTT_STORM_KILLS=n (default 3) sets how many kills, for
// stress runs under load.
TEST(Crash, KilledWhileFlushingConstantlyLeavesAConsistentFile) {
  const char* requested = std::getenv("TBPTT_STORM_KILLS");
  const int kills = requested ? std::atoi(requested) : 3;
  const ::testing::TestResult& result = *::testing::UnitTest::GetInstance()->current_test_info()->result();
  int inconsistent = 0;
  for (int i = 0; i < kills; ++i) {
    const auto delay = std::chrono::milliseconds(100 + static_cast<int>(800 * rng::uniform(41, 0, i)));
    SCOPED_TRACE("kill " + std::to_string(i) + ", " + std::to_string(delay.count()) + " ms after ready");
    const int failures_before = result.total_part_count();  // only failures are recorded
    TempDir dir("storm");
    ASSERT_TRUE(run_and_kill("storm", dir.path(), delay));
    check_storm_victim(dir.path());
    if (result.total_part_count() != failures_before) ++inconsistent;
  }
  std::printf("storm: %d of %d kills left a consistent run\n", kills - inconsistent, kills);
}

// The one moment a kill leaves a checkpoint file that nothing links: after the file is published,
// before the image with its link is. Readers must not see it; the next writer removes it.
TEST(Crash, KilledBetweenCheckpointFileAndItsLinkLeavesAnIgnoredFileThatResumeRemoves) {
  TempDir dir("orphan");
  ASSERT_TRUE(killed_before_link("checkpoints", dir.path(), 30));
  const fs::path part = runs_dir(dir.path(), "crash") / "victim.h5.part";
  EXPECT_EQ(files_in(checkpoint_dir(part)),
            (std::set<std::string>{checkpoint_name(10), checkpoint_name(20), checkpoint_name(30)}));

  const RunContents run = read_run(part);
  EXPECT_EQ(run.checkpoints, (std::vector<int64_t>{10, 20}));
  EXPECT_EQ(run.train.size(), 20u) << "rows 21..30 were buffered, published only with checkpoint 30";
  EXPECT_THROW(read_checkpoint(part, 30), ReadError);
  const Salvage salvaged = salvage(part);
  ASSERT_TRUE(salvaged.checkpoint.has_value());
  expect_crash_checkpoint(*salvaged.checkpoint, 20);

  const SweepSummary sweep = rebuild_index(dir.path(), "crash");
  ASSERT_EQ(sweep.runs.size(), 1u);
  EXPECT_EQ(sweep.runs[0].status, "incomplete");
  expect_h5dump_opens(part);
  expect_h5py_reads_everything(part);
  resume_and_finish(dir.path(), salvaged);  // removes 10 (no longer linked) and 30 (never was)
}

}  // namespace
}  // namespace tbptt::results
