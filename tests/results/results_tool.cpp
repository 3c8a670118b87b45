// results_tool: writes the run files the Python tests and the crash tests need.
//
//   results_tool sweep OUT_DIR           the synthetic sweep + its index (synthetic_sweep.h)
//   results_tool model OUT_DIR CELL      a run "model-CELL" with two checkpoints of a 2-layer
//                                        CELL model (lstm | gru | rnn_tanh); "broken" gives a
//                                        head.weight of the wrong shape
//   results_tool kill-target OUT_DIR     30 rows flushed, a checkpoint at 30, 20 rows buffered,
//                                        then prints "ready" and waits to be killed
//   results_tool storm OUT_DIR           rows written and flushed as fast as it can, a
//                                        checkpoint every 25 updates of which the newest 3 are
//                                        kept; "ready" after 100 rows
//   results_tool checkpoints OUT_DIR     30 rows, a checkpoint at 10, 20 and 30, finished; run
//                                        with TBPTT_FAULT_KILL_BEFORE_LINK=30 it dies between
//                                        the file of checkpoint 30 and its link
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "results/run_writer.h"
#include "tests/results/synthetic_sweep.h"

using namespace tbptt::results;
using namespace tbptt::results::testing;

namespace {

RunOptions crash_options(const char* out_dir, double flush_seconds) {
  RunOptions options;
  options.out_dir = out_dir;
  options.experiment = "crash";
  options.run_id = "victim";
  options.flush_seconds = flush_seconds;
  return options;
}

void ready() {
  std::printf("ready\n");
  std::fflush(stdout);
}

int model(const char* out_dir, const std::string& cell) {
  const bool broken = cell == "broken";
  const std::string real_cell = broken ? "lstm" : cell;
  const int64_t layers = 2, hidden = 6, embedding = 5;
  const std::vector<std::string> vocab = {"\n", " ", "a", "b", "c", "d", "e", "f", "g", "h"};
  RunOptions options;
  options.out_dir = out_dir;
  options.experiment = "model";
  options.run_id = "model-" + cell;
  options.vocab = vocab;
  RunWriter writer(options, {{"model.cell", real_cell},
                             {"model.layers", layers},
                             {"model.hidden", hidden},
                             {"model.embedding", embedding},
                             {"data.level", std::string("char")}});
  for (int64_t update : {3, 7}) {
    Checkpoint checkpoint;
    checkpoint.update = update;
    checkpoint.state_dict = model_state_dict(real_cell, layers, hidden, embedding,
                                             static_cast<int64_t>(vocab.size()), update);
    if (broken) checkpoint.state_dict.back() = {"head.bias", {3}, {0.f, 0.f, 0.f}};
    writer.write_checkpoint(checkpoint);
  }
  writer.finish({});
  std::printf("%s\n", writer.path().c_str());
  return 0;
}

int kill_target(const char* out_dir) {
  RunWriter writer(crash_options(out_dir, 3600), run_attributes(kCrashRun));
  for (int64_t u = 1; u <= 30; ++u) writer.append(train_row(kCrashRun, u));
  writer.write_checkpoint(crash_checkpoint(30));  // writes rows 1..30, flushes
  for (int64_t u = 31; u <= 50; ++u) writer.append(train_row(kCrashRun, u));  // buffered only
  ready();
  for (;;) pause();
}

int storm(const char* out_dir) {
  RunWriter writer(crash_options(out_dir, 0), run_attributes(kCrashRun));
  for (int64_t u = 1;; ++u) {
    writer.append(train_row(kCrashRun, u));
    if (u % 10 == 0) writer.append(eval_row(kCrashRun, u));
    if (u % 25 == 0) writer.write_checkpoint(crash_checkpoint(u));
    if (u % 25 == 0 && u > 75) writer.delete_checkpoint(u - 75);
    if (u == 100) ready();
  }
}

int checkpoints(const char* out_dir) {
  RunWriter writer(crash_options(out_dir, 3600), run_attributes(kCrashRun));
  for (int64_t u = 1; u <= 30; ++u) {
    writer.append(train_row(kCrashRun, u));
    if (u % 10 == 0) writer.write_checkpoint(crash_checkpoint(u));
  }
  writer.finish({});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc >= 3 ? argv[1] : "";
  try {
    if (command == "sweep" && argc == 3) {
      write_sweep(argv[2]);
      return 0;
    }
    if (command == "model" && argc == 4) return model(argv[2], argv[3]);
    if (command == "kill-target" && argc == 3) return kill_target(argv[2]);
    if (command == "storm" && argc == 3) return storm(argv[2]);
    if (command == "checkpoints" && argc == 3) return checkpoints(argv[2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "results_tool: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: results_tool sweep|kill-target|storm|checkpoints OUT_DIR | model OUT_DIR CELL\n");
  return 2;
}
