// Acceptance (reproducibility): a run killed mid-way and continued with --resume ends exactly
// where the same run ends uninterrupted.
//
//   A  mpirun tbptt run EXP                          updates 1 ............................ 60
//   B  TBPTT_FAULT_KILL_AFTER_UPDATE=35 ...          updates 1 ...... 30 ckpt .. 35 SIGKILL
//      mpirun tbptt run EXP --resume                 salvage 1..30 + ckpt 30, re-run 31 ... 60
//
// B's finished file must equal A's bit for bit: every train row's loss, accuracy, gradient norm
// and learning rate, every eval row, and the final checkpoint's state_dict, optimizer moments,
// carried state (gathered from the ranks and scattered back on resume) and scalars. Run with 2
// ranks per run and with 1. Files are read through the public results API only.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "results/run_reader.h"

namespace {

namespace fs = std::filesystem;
using namespace tbptt::results;

// LSTM, 2 layers, overlapping windows (k2 > k1: the carried state is taken mid-window), Adam with
// warm-up and cosine decay, clipping, evaluation and a checkpoint every 10 updates.
constexpr const char* kExperiment = R"(name: resume
seed: 5
data: {source: delayed_recall, alphabet: 6, lag: 4, length: 20000, valid_length: 400}
model: {cell: lstm, layers: 2, hidden: 12, embedding: 6}
tbptt: {k1: 5, k2: 9}
train: {batch: 4, steps: 60, optimizer: {name: adam, lr: 0.02}, schedule: {name: cosine, warmup: 5}, clip_grad_norm: 0.5}
eval: {every: 10, batch: 2}
checkpoint: {every: 10, keep: 3}
)";
constexpr int64_t kKillAfter = 35, kSalvaged = 30, kUpdates = 60;

class Folder {
 public:
  Folder() : path_(fs::temp_directory_path() / ("tbptt-e2e-resume-" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~Folder() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  Folder(const Folder&) = delete;
  Folder& operator=(const Folder&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Launch {
  int status = -1;  // exit status of mpirun, -1 if it did not exit
  std::string log;  // its stdout and stderr
};

// `E2E_ENV ENV mpirun -np RANKS tbptt run EXPERIMENT --out OUT --set parallel.ranks_per_run=RANKS EXTRA`
// (E2E_ENV, from CMake: MPI as root, one OpenMP thread per rank).
Launch launch(const fs::path& experiment, const fs::path& out, int ranks, const std::string& env,
              const std::string& extra) {
  const fs::path log = out.string() + ".log";
  const std::string command = std::string(E2E_ENV) + " " + env + " '" + MPIEXEC + "' " + MPIEXEC_NUMPROC_FLAG + " " + std::to_string(ranks) +
                              " --allow-run-as-root --oversubscribe --bind-to none '" + TBPTT + "' run '" +
                              experiment.string() + "' --out '" + out.string() + "' --set parallel.ranks_per_run=" +
                              std::to_string(ranks) + " " + extra + " > '" + log.string() + "' 2>&1";
  const int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(log)};
}

// The one run file of the experiment (its id is the same in A and B: same resolved config).
fs::path only_file(const fs::path& out, const std::string& extension) {
  fs::path found;
  for (const auto& entry : fs::directory_iterator(out / "resume" / "runs"))
    if (entry.path().string().ends_with(extension)) {
      EXPECT_TRUE(found.empty()) << "two run files: " << found << " and " << entry.path();
      found = entry.path();
    }
  return found;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void expect_same_tensors(const std::vector<Tensor>& a, const std::vector<Tensor>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE(what + "/" + a[i].name);
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].shape, b[i].shape);
    ASSERT_EQ(a[i].values.size(), b[i].values.size());
    ASSERT_FALSE(a[i].values.empty());
    size_t differ = 0, first = 0;
    for (size_t k = 0; k < a[i].values.size(); ++k)
      if (std::memcmp(&a[i].values[k], &b[i].values[k], sizeof(float)) != 0 && differ++ == 0) first = k;
    EXPECT_EQ(differ, 0u) << "elements differ, first at " << first << ": " << a[i].values[first] << " vs "
                          << b[i].values[first];
  }
}

void expect_same_train_rows(const std::vector<TrainRow>& a, const std::vector<TrainRow>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE("train row of update " + std::to_string(a[i].update));
    EXPECT_EQ(a[i].update, static_cast<int64_t>(i) + 1);
    EXPECT_EQ(b[i].update, a[i].update);
    EXPECT_EQ(b[i].epoch, a[i].epoch);
    EXPECT_EQ(b[i].tokens, a[i].tokens);
    EXPECT_TRUE(same_bits(a[i].loss, b[i].loss)) << a[i].loss << " vs " << b[i].loss;
    EXPECT_TRUE(same_bits(a[i].accuracy, b[i].accuracy)) << a[i].accuracy << " vs " << b[i].accuracy;
    EXPECT_TRUE(same_bits(a[i].grad_norm, b[i].grad_norm)) << a[i].grad_norm << " vs " << b[i].grad_norm;
    EXPECT_TRUE(same_bits(a[i].lr, b[i].lr)) << a[i].lr << " vs " << b[i].lr;
    if (::testing::Test::HasFailure()) return;  // the first row that differs says enough
  }
}

void expect_same_eval_rows(const std::vector<EvalRow>& a, const std::vector<EvalRow>& b) {
  ASSERT_EQ(a.size(), static_cast<size_t>(kUpdates / 10));
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE("eval row of update " + std::to_string(a[i].update));
    EXPECT_EQ(b[i].update, a[i].update);
    EXPECT_EQ(b[i].targets, a[i].targets);
    EXPECT_TRUE(same_bits(a[i].loss, b[i].loss)) << a[i].loss << " vs " << b[i].loss;
    EXPECT_TRUE(same_bits(a[i].accuracy, b[i].accuracy)) << a[i].accuracy << " vs " << b[i].accuracy;
  }
}

void expect_resume_reproduces_the_uninterrupted_run(int ranks) {
  Folder folder;
  const fs::path experiment = folder.path() / "resume.yaml";
  std::ofstream(experiment) << kExperiment;
  const fs::path a_out = folder.path() / "A", b_out = folder.path() / "B";

  const Launch a = launch(experiment, a_out, ranks, "", "");
  ASSERT_EQ(a.status, 0) << a.log;

  // B dies after update 35: mpirun fails, the run file is still .part with checkpoint 30 and the
  // rows flushed up to 35 (the hook flushes first), which resuming must drop and train again.
  const Launch killed = launch(experiment, b_out, ranks, "TBPTT_FAULT_KILL_AFTER_UPDATE=" + std::to_string(kKillAfter), "");
  ASSERT_NE(killed.status, 0) << "the fault hook did not kill the job\n" << killed.log;
  const fs::path part = only_file(b_out, ".h5.part");
  ASSERT_FALSE(part.empty()) << "no .part file after the kill\n" << killed.log;
  const RunContents before = read_run(part);
  ASSERT_FALSE(before.checkpoints.empty());
  EXPECT_EQ(before.checkpoints.back(), kSalvaged);
  ASSERT_EQ(before.train.size(), static_cast<size_t>(kKillAfter));

  const Launch resumed = launch(experiment, b_out, ranks, "", "--resume");
  ASSERT_EQ(resumed.status, 0) << resumed.log;
  EXPECT_TRUE(only_file(b_out, ".h5.part").empty()) << "the resumed run left its .part file";

  const RunContents ra = read_run(only_file(a_out, ".h5")), rb = read_run(only_file(b_out, ".h5"));
  EXPECT_EQ(get_or<std::string>(rb.attributes, "status", ""), "completed");
  EXPECT_EQ(get_or<int64_t>(rb.attributes, "ranks", 0), ranks);
  EXPECT_EQ(get_or<std::string>(rb.attributes, "run_id", "b"), get_or<std::string>(ra.attributes, "run_id", "a"));
  expect_same_train_rows(ra.train, rb.train);
  expect_same_eval_rows(ra.eval, rb.eval);
  // The first 30 rows were salvaged, not trained again: their measured wall times are the killed
  // attempt's (a run that silently started over would have new ones).
  ASSERT_EQ(rb.train.size(), static_cast<size_t>(kUpdates));
  for (int64_t u = 0; u < kSalvaged; ++u)
    EXPECT_TRUE(same_bits(rb.train[u].wall_time, before.train[u].wall_time)) << "update " << u + 1;

  ASSERT_FALSE(ra.checkpoints.empty());
  ASSERT_EQ(ra.checkpoints.back(), kUpdates);
  ASSERT_EQ(rb.checkpoints.back(), kUpdates);
  const Checkpoint ca = read_checkpoint(ra.path, kUpdates), cb = read_checkpoint(rb.path, kUpdates);
  EXPECT_EQ(cb.update, ca.update);
  EXPECT_EQ(cb.epoch, ca.epoch);
  EXPECT_EQ(cb.window, ca.window);
  EXPECT_EQ(cb.tokens, ca.tokens);
  expect_same_tensors(ca.state_dict, cb.state_dict, "state_dict");
  expect_same_tensors(ca.optimizer, cb.optimizer, "optimizer");
  expect_same_tensors(ca.state, cb.state, "state");
  ASSERT_EQ(ca.state.size(), 2u);  // h and c of the LSTM, over all rows of the run
  EXPECT_EQ(ca.state[0].shape, (std::vector<int64_t>{2, 4, 12}));
  ASSERT_EQ(ca.extra.size(), cb.extra.size());
  for (size_t i = 0; i < ca.extra.size(); ++i) {
    EXPECT_EQ(ca.extra[i].first, cb.extra[i].first);
    EXPECT_EQ(to_text(ca.extra[i].second), to_text(cb.extra[i].second)) << ca.extra[i].first;
  }
}

TEST(ResumeBitwise, TwoRanksGatherAndScatterTheCarriedState) { expect_resume_reproduces_the_uninterrupted_run(2); }

TEST(ResumeBitwise, OneRank) { expect_resume_reproduces_the_uninterrupted_run(1); }

}  // namespace
