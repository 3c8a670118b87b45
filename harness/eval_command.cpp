#include "harness/eval_command.h"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <ostream>
#include <stdexcept>

#include "common/error.h"
#include "harness/config/experiment.h"
#include "harness/evaluation.h"
#include "harness/run_settings.h"
#include "results/run_reader.h"

namespace tbptt::harness {

const char* const kEvalHelp =
    "Evaluate a run's newest checkpoint (or --checkpoint N) on a split of its data, in one process.\n"
    "The run is rebuilt from its file's `config` attribute (its resolved YAML) plus any --set; text\n"
    "is encoded with the run's stored vocabulary (data/vocab), never a new one, so --set\n"
    "data.path=other.txt evaluates another corpus (unknown tokens become <unk>).\n"
    "\n"
    "Protocol (the one training runs use for their eval/ rows): the split's token/step stream is\n"
    "batchified into eval.batch rows (contiguous rows, the remainder trimmed; text of n tokens is\n"
    "n - 1 steps, input x[p] and target x[p+1], see data/README.md), walked in windows of\n"
    "eval.window steps (tbptt.k1 for last_step heads) with the state carried from window to window\n"
    "and reset at every sequence start (tbptt.seq_len); the loss is the mean over every target the\n"
    "head sees. Change it with e.g. --set eval.batch=1.\n"
    "\n"
    "Prints one line: split, targets, loss (nats), perplexity, bits per token and accuracy\n"
    "(classification) or MSE (regression). Exit status 2 on bad input.";

namespace {

data::Split parse_split(const std::string& split) {
  if (split == "valid") return data::Split::valid;
  if (split == "test") return data::Split::test;
  throw ConfigError("--split", split, "valid or test");
}

std::string join(const std::vector<int64_t>& updates) {
  std::string text;
  for (int64_t u : updates) text += (text.empty() ? "" : ", ") + std::to_string(u);
  return text;
}

// The update to evaluate: the one asked for, or the newest checkpoint of the file.
int64_t choose_checkpoint(const results::RunContents& run, int64_t asked) {
  if (run.checkpoints.empty())
    throw std::runtime_error(run.path.string() + " has no checkpoint to evaluate (the run stopped before its first; "
                             "see checkpoint.every)");
  if (asked < 0) return run.checkpoints.back();
  if (std::find(run.checkpoints.begin(), run.checkpoints.end(), asked) == run.checkpoints.end())
    throw ConfigError("--checkpoint", std::to_string(asked), "an update with a checkpoint in this run: " + join(run.checkpoints));
  return asked;
}

// The run's own resolved configuration, edited by --set and validated again.
Run rebuild_run(const results::RunContents& run, const std::vector<std::string>& sets) {
  const std::string config = results::get_or<std::string>(run.attributes, "config", "");
  if (config.empty()) throw std::runtime_error(run.path.string() + " has no `config` attribute: not a tbptt run file");
  const Experiment experiment = Experiment::parse(config, run.path.string() + " (config)", sets);
  if (experiment.size() != 1)
    throw ConfigError("--set", "sweep", "settings of one run: tbptt eval evaluates one run, not a sweep");
  return experiment.run(0);
}

// The loss (and MSE) in full: the shortest text that reads back to the same double, for scripts.
std::string describe(const results::EvalRow& row, bool classification) {
  std::string line = fmt::format("{}: targets {} loss {}", results::kSplitLabels[static_cast<int>(row.split)],
                                 row.targets, row.loss);
  if (classification)
    return line + fmt::format(" perplexity {:.6g} bits_per_token {:.6g} accuracy {:.6g}", row.perplexity,
                              row.bits_per_token, row.accuracy);
  return line + fmt::format(" mse {}", row.mse);
}

}  // namespace

int eval_command(const EvalCommand& command, std::ostream& out) {
  const data::Split split = parse_split(command.split);
  const results::RunContents contents = results::read_run(command.run_file);
  const int64_t update = choose_checkpoint(contents, command.checkpoint);
  const Run run = rebuild_run(contents, command.sets);
  RunSettings s = read_settings(run);
  omp_set_num_threads(threads_for(s));

  const bool stored_vocabulary = (s.data.source == "text" || s.data.source == "brown") && !contents.vocab.empty();
  const data::Dataset dataset = stored_vocabulary ? data::Dataset(s.data, contents.vocab) : data::Dataset(s.data);
  fit_to_data(s.model, dataset.shape());

  engine::Model model(s.model, s.seed);
  const results::Checkpoint checkpoint = results::read_checkpoint(command.run_file, update);
  std::vector<engine::NamedTensor> state_dict;
  for (const auto& t : checkpoint.state_dict)
    state_dict.push_back({t.name, std::vector<int>(t.shape.begin(), t.shape.end()), t.values});
  model.layout().import_state_dict(state_dict, model.params());

  const results::EvalRow row = evaluate_split(model, dataset, s, split, nullptr);
  out << describe(row, model.config().loss == engine::Loss::cross_entropy)
      << fmt::format("  (run {} checkpoint {})", results::get_or<std::string>(contents.attributes, "run_id", "?"), update) << "\n";
  return 0;
}

}  // namespace tbptt::harness
