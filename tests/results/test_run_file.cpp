// One run file: write -> read round trip, checkpoints, resume, and every way writing can fail.
#include <gtest/gtest.h>
#include <regex.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>


#include <cmath>
#include <csignal>
#include <fstream>
#include <functional>
#include <set>
#include <stdexcept>

#include "common/error.h"
#include "results/run_reader.h"
#include "results/run_writer.h"
#include "results/writer_lock.h"
#include "tests/results/synthetic_sweep.h"
#include "tests/results/temp_dir.h"

namespace tbptt::results {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::files_in;
using testing::inode;

// s matches the POSIX extended regular expression `ere`. Not <regex>: it made this file the
// slowest of the project to compile (16 s, 40 s under the sanitizers) for three matches.
bool matches(const std::string& s, const char* ere) {
  regex_t re;
  if (regcomp(&re, ere, REG_EXTENDED | REG_NOSUB) != 0) throw std::invalid_argument(ere);
  const bool match = regexec(&re, s.c_str(), 0, nullptr, 0) == 0;
  regfree(&re);
  return match;
}

// Equal, or both NaN: rows carry NaN for metrics that do not apply.
bool same(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

void expect_same(const TrainRow& a, const TrainRow& b) {
  EXPECT_EQ(a.update, b.update);
  EXPECT_EQ(a.epoch, b.epoch);
  EXPECT_EQ(a.tokens, b.tokens);
  for (auto member : {&TrainRow::loss, &TrainRow::accuracy, &TrainRow::grad_norm, &TrainRow::lr,
                      &TrainRow::wall_time, &TrainRow::tokens_per_s, &TrainRow::time_data,
                      &TrainRow::time_forward, &TrainRow::time_backward, &TrainRow::time_allreduce,
                      &TrainRow::time_optimizer})
    EXPECT_TRUE(same(a.*member, b.*member)) << a.*member << " vs " << b.*member;
}

void expect_same(const EvalRow& a, const EvalRow& b) {
  EXPECT_EQ(a.update, b.update);
  EXPECT_EQ(a.epoch, b.epoch);
  EXPECT_EQ(a.split, b.split);
  EXPECT_EQ(a.targets, b.targets);
  for (auto member : {&EvalRow::loss, &EvalRow::perplexity, &EvalRow::bits_per_token,
                      &EvalRow::accuracy, &EvalRow::mse})
    EXPECT_TRUE(same(a.*member, b.*member)) << a.*member << " vs " << b.*member;
}

void expect_same(const FidelityRow& a, const FidelityRow& b) {
  EXPECT_EQ(a.update, b.update);
  EXPECT_EQ(a.horizon, b.horizon);
  EXPECT_EQ(a.group, b.group);
  for (auto member : {&FidelityRow::cosine, &FidelityRow::rel_error, &FidelityRow::norm_truncated,
                      &FidelityRow::norm_long})
    EXPECT_TRUE(same(a.*member, b.*member));
}

void expect_same(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].shape, b[i].shape);
    EXPECT_EQ(a[i].values, b[i].values);
  }
}

RunOptions options_in(const fs::path& out_dir, const std::string& run_id = "r1") {
  RunOptions options;
  options.out_dir = out_dir;
  options.experiment = "exp";
  options.run_id = run_id;
  options.flush_seconds = 3600;
  return options;
}

TrainRow numbered_train_row(int64_t u) {
  TrainRow row;
  row.update = u;
  row.epoch = u / 7;
  row.tokens = 640 * u;
  row.loss = 4.0 / u;
  // accuracy stays NaN: a regression task
  row.grad_norm = 0.5 + u;
  row.lr = 1e-3 * u;
  row.wall_time = 0.25 * u;
  row.tokens_per_s = 1000.0 + u;
  row.time_data = 1e-4 * u;
  row.time_forward = 2e-4 * u;
  row.time_backward = 3e-4 * u;
  row.time_allreduce = 4e-4 * u;
  row.time_optimizer = 5e-4 * u;
  return row;
}

TEST(RunFile, RoundTripsEveryAttributeRowAndCheckpoint) {
  TempDir dir("roundtrip");
  RunOptions options = options_in(dir.path());
  options.fidelity_groups = {"all", "embedding", "rnn"};
  options.vocab = {"<unk>", "a", "λ", " "};
  const Attributes attributes = {
      {"config", std::string("name: exp\nmodel: {cell: lstm}\n")},
      {"tbptt.k1", int64_t{20}},
      {"train.optimizer.lr", 0.002},
      {"tbptt.carry_state", true},
      {"train.shuffle", false},
      {"model.cell", std::string("lstm")},
      {"note", std::string("café λ")},
      {"swept", std::vector<std::string>{"tbptt.k1", "train.batch"}},
      {"hosts", std::vector<std::string>{}},
  };
  std::vector<TrainRow> train;
  std::vector<EvalRow> eval;
  std::vector<FidelityRow> fidelity;
  Checkpoint checkpoint;
  checkpoint.update = 3;
  checkpoint.epoch = 1;
  checkpoint.window = 17;
  checkpoint.tokens = 1920;
  checkpoint.state_dict = testing::model_state_dict("lstm", 2, 3, 2, 4, 11);
  checkpoint.optimizer = {{"m", {5}, {1, 2, 3, 4, 5}}, {"v", {2}, {0.5f, 0.25f}}};
  checkpoint.state = {{"h", {2, 1, 3}, {1, 2, 3, 4, 5, 6}}, {"c", {2, 1, 3}, {6, 5, 4, 3, 2, 1}}};
  checkpoint.extra = {{"optimizer.step", int64_t{3}}, {"schedule.scale", 0.5},
                      {"rng", std::string("key-9")}};
  fs::path finished;
  {
    RunWriter writer(options, attributes);
    for (int64_t u = 1; u <= 3; ++u) {
      train.push_back(numbered_train_row(u));
      writer.append(train.back());
    }
    EvalRow valid;
    valid.update = 3;
    valid.loss = 1.5;
    valid.perplexity = std::exp(1.5);
    valid.bits_per_token = 1.5 / std::log(2.0);
    valid.accuracy = 0.25;
    valid.targets = 900;
    EvalRow test = valid;
    test.split = Split::test;
    test.loss = 1.75;
    eval = {valid, test};
    for (const auto& row : eval) writer.append(row);
    fidelity = {{3, 100, 0, 0.9, 0.1, 1.0, 1.1}, {3, 100, 2, 0.8, 0.2, 2.0, 2.2}};
    for (const auto& row : fidelity) writer.append(row);
    writer.write_checkpoint(checkpoint);
    writer.set_attributes({{"workspace_bytes", int64_t{123456}}});
    Outcome outcome;
    outcome.attributes = {{"peak_rss_bytes", int64_t{987654321}}};
    writer.finish(outcome);
    finished = writer.path();
  }
  EXPECT_EQ(finished, dir.path() / "exp" / "runs" / "r1.h5");
  // The finished file, its checkpoint folder, and nothing else (no .part, lock or .tmp file).
  EXPECT_EQ(files_in(finished.parent_path()), (std::set<std::string>{"r1.h5", "r1.ckpt"}));
  EXPECT_EQ(files_in(checkpoint_dir(finished)), std::set<std::string>{"0000000003.h5"});

  const RunContents run = read_run(finished);
  for (const auto& [name, value] : attributes) {
    const Value* read = find(run.attributes, name);
    ASSERT_NE(read, nullptr) << name;
    EXPECT_EQ(*read, value) << name;  // same alternative and same value
  }
  EXPECT_EQ(get_or(run.attributes, "status", std::string()), "completed");
  EXPECT_EQ(get_or(run.attributes, "error", std::string("x")), "");
  EXPECT_EQ(get_or(run.attributes, "experiment", std::string()), "exp");
  EXPECT_EQ(get_or(run.attributes, "run_id", std::string()), "r1");
  EXPECT_EQ(get_or(run.attributes, "diverged_at_update", int64_t{0}), -1);
  EXPECT_EQ(get_or(run.attributes, "workspace_bytes", int64_t{0}), 123456);
  EXPECT_EQ(get_or(run.attributes, "peak_rss_bytes", int64_t{0}), 987654321);
  EXPECT_EQ(get_or(run.attributes, "schema_version", int64_t{0}), kSchemaVersion);
  EXPECT_GE(get_or(run.attributes, "wall_time_s", -1.0), 0.0);
  const char* iso = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$";
  EXPECT_TRUE(matches(get_or(run.attributes, "start_time", std::string()), iso));
  EXPECT_TRUE(matches(get_or(run.attributes, "end_time", std::string()), iso));
  EXPECT_TRUE(matches(get_or(run.attributes, "version.hdf5", std::string()), "^[0-9]+[.][0-9]+[.][0-9]+$"));

  ASSERT_EQ(run.train.size(), train.size());
  for (size_t i = 0; i < train.size(); ++i) expect_same(run.train[i], train[i]);
  ASSERT_EQ(run.eval.size(), eval.size());
  for (size_t i = 0; i < eval.size(); ++i) expect_same(run.eval[i], eval[i]);
  ASSERT_EQ(run.fidelity.size(), fidelity.size());
  for (size_t i = 0; i < fidelity.size(); ++i) expect_same(run.fidelity[i], fidelity[i]);
  EXPECT_EQ(run.fidelity_groups, options.fidelity_groups);
  EXPECT_EQ(run.vocab, options.vocab);
  EXPECT_EQ(run.checkpoints, std::vector<int64_t>{3});

  const Checkpoint read = read_checkpoint(finished, 3);
  EXPECT_EQ(read.update, 3);
  EXPECT_EQ(read.epoch, 1);
  EXPECT_EQ(read.window, 17);
  EXPECT_EQ(read.tokens, 1920);
  // Tensors come back sorted by name, as HDF5 lists them.
  auto by_name = [](std::vector<Tensor> tensors) {
    std::sort(tensors.begin(), tensors.end(), [](auto& a, auto& b) { return a.name < b.name; });
    return tensors;
  };
  expect_same(read.state_dict, by_name(checkpoint.state_dict));
  expect_same(read.optimizer, by_name(checkpoint.optimizer));
  expect_same(read.state, by_name(checkpoint.state));
  for (const auto& [name, value] : checkpoint.extra) {
    ASSERT_NE(find(read.extra, name), nullptr) << name;
    EXPECT_EQ(*find(read.extra, name), value);
  }
}

TEST(RunFile, CheckpointsCanBeReplacedAndDeleted) {
  TempDir dir("checkpoints");
  RunWriter writer(options_in(dir.path()), {});
  for (int64_t update : {10, 20, 30}) {
    Checkpoint checkpoint;
    checkpoint.update = update;
    checkpoint.state = {{"h", {1}, {static_cast<float>(update)}}};
    writer.write_checkpoint(checkpoint);
  }
  Checkpoint replacement;
  replacement.update = 30;
  replacement.state = {{"h", {2}, {-1.f, -2.f}}};
  writer.write_checkpoint(replacement);
  writer.delete_checkpoint(20);
  writer.delete_checkpoint(25);  // none there: nothing happens
  EXPECT_EQ(writer.checkpoints(), (std::set<int64_t>{10, 30}));
  // Deleted means unlinked in the published .part and its file gone.
  EXPECT_EQ(read_run(writer.path()).checkpoints, (std::vector<int64_t>{10, 30}));
  EXPECT_EQ(files_in(checkpoint_dir(writer.path())),
            (std::set<std::string>{"0000000010.h5", "0000000030.h5"}));
  writer.finish({});

  EXPECT_EQ(read_run(writer.path()).checkpoints, (std::vector<int64_t>{10, 30}));
  EXPECT_EQ(read_checkpoint(writer.path(), 30).state.at(0).values, (std::vector<float>{-1.f, -2.f}));
  EXPECT_EQ(read_checkpoint(writer.path(), 10).state.at(0).values, std::vector<float>{10.f});
  EXPECT_THROW(read_checkpoint(writer.path(), 20), ReadError);
}

TEST(RunFile, UnfinishedWriterLeavesPartFileWithItsRows) {
  TempDir dir("unfinished");
  fs::path part;
  {
    RunWriter writer(options_in(dir.path()), {});
    for (int64_t u = 1; u <= 5; ++u) writer.append(numbered_train_row(u));
    part = writer.path();
    EXPECT_TRUE(WriterLock::held(lock_file(part)));
  }  // an exception unwinding through the trainer does this
  EXPECT_EQ(part.filename(), "r1.h5.part");
  EXPECT_FALSE(fs::exists(lock_file(part))) << "the writer is gone, so is its lock file";
  EXPECT_FALSE(fs::exists(dir.path() / "exp" / "runs" / "r1.h5"));
  const RunContents run = read_run(part);
  EXPECT_EQ(get_or(run.attributes, "status", std::string()), "running");
  ASSERT_EQ(run.train.size(), 5u);
  EXPECT_EQ(run.train.back().update, 5);
}

TEST(RunFile, SalvageKeepsRowsUpToLastCheckpointAndResumeContinues) {
  TempDir dir("resume");
  const RunOptions options = options_in(dir.path());
  const fs::path part = dir.path() / "exp" / "runs" / "r1.h5.part";
  {
    RunWriter writer(options, {{"tbptt.k1", int64_t{5}}});
    for (int64_t u = 1; u <= 40; ++u) {
      writer.append(numbered_train_row(u));
      if (u % 10 == 0) writer.append(EvalRow{u, 0, Split::valid, 2.0, kNaN, kNaN, kNaN, kNaN, 10});
      if (u == 20 || u == 30) {
        Checkpoint checkpoint;
        checkpoint.update = u;
        checkpoint.window = u;
        checkpoint.state = {{"h", {1}, {static_cast<float>(u)}}};
        writer.write_checkpoint(checkpoint);
      }
    }
  }  // killed after update 40: rows 31..40 are past the last checkpoint

  const Salvage salvaged = salvage(part);
  ASSERT_TRUE(salvaged.checkpoint.has_value());
  EXPECT_EQ(salvaged.checkpoint->update, 30);
  EXPECT_EQ(salvaged.checkpoint->window, 30);
  ASSERT_EQ(salvaged.contents.train.size(), 30u);
  EXPECT_EQ(salvaged.contents.train.back().update, 30);
  EXPECT_EQ(salvaged.contents.eval.size(), 3u);

  const ino_t kept = inode(checkpoint_file(part, 30));
  ASSERT_NE(kept, 0u);
  {
    RunWriter writer(options, {{"tbptt.k1", int64_t{5}}, {"resumed_from_update", int64_t{30}}},
                     salvaged);
    EXPECT_EQ(writer.path(), part);
    // Checkpoint 30's file is linked again, not copied; 20's, linked by nothing now, is gone.
    EXPECT_EQ(files_in(checkpoint_dir(part)), std::set<std::string>{"0000000030.h5"});
    EXPECT_EQ(inode(checkpoint_file(part, 30)), kept);
    EXPECT_EQ(read_run(part).train.size(), 30u) << "the resumed image is published at once";
    for (int64_t u = 31; u <= 50; ++u) writer.append(numbered_train_row(u));
    writer.finish({});
  }
  const RunContents run = read_run(dir.path() / "exp" / "runs" / "r1.h5");
  ASSERT_EQ(run.train.size(), 50u);
  for (int64_t u = 1; u <= 50; ++u) expect_same(run.train[u - 1], numbered_train_row(u));
  EXPECT_EQ(run.eval.size(), 3u);
  EXPECT_EQ(run.checkpoints, std::vector<int64_t>{30});
  EXPECT_EQ(get_or(run.attributes, "resumed_from_update", int64_t{0}), 30);
  EXPECT_EQ(read_checkpoint(run.path, 30).state.at(0).values, std::vector<float>{30.f});
  EXPECT_FALSE(fs::exists(part));
}

// Salvaged from another folder (a copy of the results): the checkpoint's file is not this run's,
// so its tensors go into a new file of this run and the source is left alone.
TEST(RunFile, ResumeFromAnotherFolderWritesTheCheckpointAnew) {
  TempDir dir("resume-elsewhere");
  const fs::path source = dir.path() / "source" / "exp" / "runs" / "r1.h5.part";
  {
    RunWriter writer(options_in(dir.path() / "source"), {});
    writer.append(numbered_train_row(1));
    Checkpoint checkpoint;
    checkpoint.update = 1;
    checkpoint.optimizer = {{"m", {3}, {1.f, 2.f, 3.f}}};
    writer.write_checkpoint(checkpoint);
  }
  const Salvage salvaged = salvage(source);
  {
    RunWriter writer(options_in(dir.path() / "copy"), {}, salvaged);
    writer.finish({});
  }
  const fs::path copy = dir.path() / "copy" / "exp" / "runs" / "r1.h5";
  EXPECT_NE(inode(checkpoint_file(copy, 1)), inode(checkpoint_file(source, 1)));
  EXPECT_EQ(read_checkpoint(copy, 1).optimizer.at(0).values, (std::vector<float>{1.f, 2.f, 3.f}));
  EXPECT_EQ(read_run(source).checkpoints, std::vector<int64_t>{1});
  EXPECT_TRUE(fs::exists(checkpoint_file(source, 1)));
}

TEST(RunFile, SalvageWithoutCheckpointKeepsNothing) {
  TempDir dir("salvage-empty");
  { RunWriter writer(options_in(dir.path()), {}); writer.append(numbered_train_row(1)); }
  const Salvage salvaged = salvage(dir.path() / "exp" / "runs" / "r1.h5.part");
  EXPECT_FALSE(salvaged.checkpoint.has_value());
  EXPECT_TRUE(salvaged.contents.train.empty());
}

TEST(RunFile, FinishedFileIsKeptUnlessOverwriteIsAsked) {
  TempDir dir("overwrite");
  RunOptions options = options_in(dir.path());
  const fs::path runs = dir.path() / "exp" / "runs";
  {
    RunWriter writer(options, {{"attempt", int64_t{1}}});
    writer.write_checkpoint(Checkpoint{});
    writer.finish({});
  }
  EXPECT_THROW(RunWriter(options, {}), WriteError);
  EXPECT_EQ(files_in(runs), (std::set<std::string>{"r1.h5", "r1.ckpt"})) << "refused: nothing touched";
  EXPECT_EQ(read_run(runs / "r1.h5").checkpoints, std::vector<int64_t>{0});
  options.overwrite = true;
  {
    RunWriter writer(options, {{"attempt", int64_t{2}}});
    // The new run's first image replaces the old file; the old checkpoint files go with it.
    EXPECT_EQ(files_in(runs), (std::set<std::string>{"r1.h5.part", "r1.h5.lock"}));
    writer.finish({});
  }
  EXPECT_EQ(get_or(read_run(runs / "r1.h5").attributes, "attempt", int64_t{0}), 2);
  EXPECT_TRUE(read_run(runs / "r1.h5").checkpoints.empty());
}

TEST(RunFile, StatusIsWhatTheOutcomeSays) {
  TempDir dir("status");
  RunWriter writer(options_in(dir.path()), {});
  Outcome outcome;
  outcome.status = RunStatus::diverged;
  outcome.error = "loss is inf";
  outcome.diverged_at_update = 17;
  writer.finish(outcome);
  const Attributes attributes = read_run(writer.path()).attributes;
  EXPECT_EQ(get_or(attributes, "status", std::string()), "diverged");
  EXPECT_EQ(get_or(attributes, "error", std::string()), "loss is inf");
  EXPECT_EQ(get_or(attributes, "diverged_at_update", int64_t{0}), 17);
  EXPECT_THROW(writer.append(TrainRow{}), std::logic_error);  // finished
}

TEST(RunFile, UnwritableFolderIsAWriteErrorNamingIt) {
  TempDir dir("unwritable");
  std::ofstream(dir.path() / "plain-file") << "not a folder";
  ::testing::internal::CaptureStderr();
  try {
    RunWriter writer(options_in(dir.path() / "plain-file"), {});
    FAIL() << "expected WriteError";
  } catch (const WriteError& e) {
    EXPECT_NE(std::string(e.what()).find("plain-file"), std::string::npos) << e.what();
    EXPECT_NE(e.path().string().find("plain-file"), std::string::npos);
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(RunFile, Hdf5FailureIsAWriteErrorAndPrintsNothing) {
  TempDir dir("hdf5-failure");
  RunWriter writer(options_in(dir.path()), {});
  ::testing::internal::CaptureStderr();
  try {
    writer.set_attributes({{"", int64_t{1}}});  // HDF5 refuses an empty attribute name
    FAIL() << "expected WriteError";
  } catch (const WriteError& e) {
    EXPECT_EQ(e.path(), dir.path() / "exp" / "runs" / "r1.h5.part");
    EXPECT_NE(std::string(e.what()).find("create attribute"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("H5A"), std::string::npos) << "HDF5's stack: " << e.what();
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_THROW(writer.flush(), WriteError) << "a writer that failed once refuses further work";
}

TEST(RunFile, PublishingOverAFolderIsAWriteErrorNamingTheFile) {
  TempDir dir("publish-failure");
  const fs::path part = dir.path() / "exp" / "runs" / "r1.h5.part";
  fs::create_directories(part);  // a folder where the file goes: the rename cannot replace it
  ::testing::internal::CaptureStderr();
  try {
    RunWriter writer(options_in(dir.path()), {});
    FAIL() << "expected WriteError";
  } catch (const WriteError& e) {
    EXPECT_EQ(e.path(), fs::path(part).concat(".tmp"));
    EXPECT_NE(std::string(e.what()).find("rename to r1.h5.part"), std::string::npos) << e.what();
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_FALSE(fs::exists(lock_file(part))) << "a writer that failed to start releases its lock";
}

TEST(RunFile, SecondWriterOfALiveRunIsRefused) {
  TempDir dir("two-writers");
  RunWriter first(options_in(dir.path()), {});
  first.append(numbered_train_row(1));
  first.flush();
  try {
    RunWriter second(options_in(dir.path()), {});
    FAIL() << "expected WriteError";
  } catch (const WriteError& e) {
    EXPECT_EQ(e.path(), lock_file(first.path()));
  }
  EXPECT_EQ(read_run(first.path()).train.size(), 1u) << "the refused writer must not touch the run";
  EXPECT_TRUE(WriterLock::held(lock_file(first.path())));
}

// A full disk, simulated with a file-size limit in a child process: the write that crosses it
// must come back as a WriteError naming the file being written, not a crash or a signal, and
// the run's published .part must stay as it was.
void write_past_a_size_limit(const fs::path& out_dir, const std::function<void(RunWriter&)>& write,
                             const fs::path& failing_file) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::signal(SIGXFSZ, SIG_IGN);  // a write past the limit then fails with EFBIG
    const rlimit limit{256 * 1024, 256 * 1024};
    setrlimit(RLIMIT_FSIZE, &limit);
    int code = 3;
    try {
      RunWriter writer(options_in(out_dir), {});
      writer.append(numbered_train_row(1));
      writer.flush();
      write(writer);
      code = 2;  // no error: the limit did not bite
    } catch (const WriteError& e) {
      code = e.path() == failing_file ? 0 : 4;
    } catch (...) {
      code = 5;
    }
    _exit(code);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the writer died of a signal";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2: no error, 4: wrong path, 5: another exception type";
  EXPECT_FALSE(fs::exists(failing_file)) << "the failed temporary file is removed";
  const RunContents run = read_run(out_dir / "exp" / "runs" / "r1.h5.part");
  EXPECT_EQ(run.train.size(), 1u) << "the last published image is intact";
  EXPECT_TRUE(run.checkpoints.empty());
}

TEST(RunFile, WriteFailureMidRunIsAWriteError) {
  TempDir dir("disk-full");
  {
    SCOPED_TRACE("a checkpoint file");
    write_past_a_size_limit(dir.path() / "checkpoint", [](RunWriter& writer) {
      Checkpoint big;
      big.update = 1;
      big.state_dict = {{"w", {1 << 20}, std::vector<float>(1 << 20, 1.f)}};  // 4 MiB
      writer.write_checkpoint(big);
    }, dir.path() / "checkpoint" / "exp" / "runs" / "r1.ckpt" / "0000000001.h5.tmp");
  }
  {
    SCOPED_TRACE("the run image");
    write_past_a_size_limit(dir.path() / "image", [](RunWriter& writer) {
      for (int64_t u = 2; u <= 5000; ++u) writer.append(numbered_train_row(u));  // ~560 KB
      writer.flush();
    }, dir.path() / "image" / "exp" / "runs" / "r1.h5.part.tmp");
  }
}

TEST(RunFile, BadNamesAndRowsAreRejected) {
  TempDir dir("bad-names");
  RunOptions options = options_in(dir.path());
  options.experiment = "a/b";
  try {
    RunWriter writer(options, {});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.setting(), "name");
    EXPECT_EQ(e.value(), "a/b");
  }
  options.experiment = "exp";
  options.fidelity_groups = {"all"};
  RunWriter writer(options, {});
  FidelityRow row;
  row.group = 1;  // only group 0 exists
  EXPECT_THROW(writer.append(row), std::logic_error);
}

TEST(RunFile, ReadingAMissingOrForeignFileIsAReadError) {
  TempDir dir("read-errors");
  EXPECT_THROW(read_run(dir.path() / "missing.h5"), ReadError);
  std::ofstream(dir.path() / "garbage.h5") << "this is not HDF5";
  try {
    read_run(dir.path() / "garbage.h5");
    FAIL() << "expected ReadError";
  } catch (const ReadError& e) {
    EXPECT_EQ(e.path(), dir.path() / "garbage.h5");
  }
}

}  // namespace
}  // namespace tbptt::results
