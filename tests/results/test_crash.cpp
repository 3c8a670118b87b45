// A writer process killed with SIGKILL: the .part file opens (also in h5dump), the flushed rows
// read back, salvage finds the checkpoint, and the index calls the run incomplete.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <thread>

#include "results/run_reader.h"
#include "results/sweep_index.h"
#include "tests/results/synthetic_sweep.h"
#include "tests/results/temp_dir.h"

namespace tbptt::results {
namespace {

namespace fs = std::filesystem;
using testing::kCrashRun;
using testing::TempDir;

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

void expect_h5dump_opens(const fs::path& file) {
  if (std::string(H5DUMP).empty()) {
    ADD_FAILURE() << "h5dump not found at configure time (Debian package hdf5-tools)";
    return;
  }
  const std::string command = std::string(H5DUMP) + " -H '" + file.string() + "' > /dev/null 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

TEST(Crash, KilledWriterKeepsEveryFlushedRowAndLosesOnlyTheBufferedOnes) {
  TempDir dir("kill");
  ASSERT_TRUE(run_and_kill("kill-target", dir.path()));
  const fs::path runs = runs_dir(dir.path(), "crash");
  EXPECT_FALSE(fs::exists(runs / "victim.h5"));
  const fs::path part = runs / "victim.h5.part";
  ASSERT_TRUE(fs::exists(part));

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
  EXPECT_EQ(salvaged.checkpoint->update, 30);
  EXPECT_EQ(get_or(salvaged.checkpoint->extra, "optimizer.step", int64_t{0}), 30);
  EXPECT_EQ(salvaged.contents.train.size(), 30u);

  const SweepSummary sweep = rebuild_index(dir.path(), "crash");
  ASSERT_EQ(sweep.runs.size(), 1u);
  EXPECT_EQ(sweep.runs[0].status, "incomplete");
  EXPECT_EQ(sweep.runs[0].updates, 30);
  EXPECT_EQ(read_index(index_file(dir.path(), "crash")).runs.at(0).status, "incomplete");
  expect_h5dump_opens(part);
}

// Killed at an arbitrary moment while flushing after every row and checkpointing often.
TEST(Crash, KilledWhileFlushingConstantlyLeavesAConsistentFile) {
  for (int delay_ms : {0, 37, 151}) {
    TempDir dir("storm-" + std::to_string(delay_ms));
    ASSERT_TRUE(run_and_kill("storm", dir.path(), std::chrono::milliseconds(delay_ms)));
    const fs::path part = runs_dir(dir.path(), "crash") / "victim.h5.part";
    const RunContents run = read_run(part);
    ASSERT_GE(run.train.size(), 100u) << "rows flushed before 'ready' were lost";
    for (size_t i = 0; i < run.train.size(); ++i) {
      const int64_t u = static_cast<int64_t>(i) + 1;
      ASSERT_EQ(run.train[i].update, u);
      ASSERT_EQ(run.train[i].loss, testing::train_loss(kCrashRun, u));
    }
    const Salvage salvaged = salvage(part);
    ASSERT_TRUE(salvaged.checkpoint.has_value());
    EXPECT_GE(salvaged.checkpoint->update, 100);
    EXPECT_EQ(salvaged.checkpoint->update % 25, 0);
    EXPECT_EQ(salvaged.contents.train.size(), static_cast<size_t>(salvaged.checkpoint->update));
    EXPECT_EQ(rebuild_index(dir.path(), "crash").runs.at(0).status, "incomplete");
    expect_h5dump_opens(part);
  }
}

}  // namespace
}  // namespace tbptt::results
