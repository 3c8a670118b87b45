#pragma once
// `tbptt eval RUN_FILE`: the loss of one checkpoint of a finished (or killed) run on a split of
// its own data, or of other data, by the protocol training runs use (harness/evaluation.h).
//
//   run file ──read_run──▶ `config` attribute (the run's canonical resolved YAML)
//                            │ + --set overrides, validated again (did-you-mean on unknown keys)
//                            ▼
//                          RunSettings ──▶ Dataset (text / brown: encoded with data/vocab)
//            ──read_checkpoint(N)──▶ state_dict ──import──▶ Model ──▶ evaluate_split(…, nullptr)
//
// One process, no MPI. The vocabulary is never rebuilt: another corpus (--set data.path=…) is
// encoded with the run's own, so the model's input and output rows keep their meaning.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace tbptt::harness {

struct EvalCommand {
  std::string run_file;
  std::string split = "valid";    // valid | test
  int64_t checkpoint = -1;        // an update with a checkpoint; -1 = the newest
  std::vector<std::string> sets;  // dotted.key=YAML, as for `tbptt run`
};

// The --help text of `tbptt eval`: what is evaluated, and how.
extern const char* const kEvalHelp;

// Prints one line to `out` and returns 0. Bad input (a missing or unreadable file, a run without
// checkpoints, an unknown checkpoint or split, a bad --set) throws tbptt::ConfigError,
// ExperimentError or results::ReadError, whose message says what would be accepted.
int eval_command(const EvalCommand& command, std::ostream& out);

}  // namespace tbptt::harness
