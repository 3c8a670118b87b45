#include "harness/config/schema.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "harness/config/value.h"

namespace tbptt::harness {
namespace {

// Which data sources a data key applies to.
constexpr std::string_view kGenerated = "random_tokens|random_regression|delayed_recall|adding|copy|sine|mackey_glass";
constexpr std::string_view kTokenInput = "random_tokens|delayed_recall|copy|text|brown";  // inputs are token ids
constexpr std::string_view kCorpora = "text|brown";

constexpr Condition source(std::string_view values) { return {"data.source", values}; }
constexpr Condition optimizer(std::string_view values) { return {"train.optimizer.name", values}; }
constexpr Condition schedule(std::string_view values) { return {"train.schedule.name", values}; }

// Order matters twice: a key named in `when` or `follows` must come before the keys using it,
// because runs are resolved in table order (a unit test checks this).
constexpr Setting kSettings[] = {
    {.key = "name", .type = Type::identifier, .required = true, .doc = "experiment name; names its results files"},
    {.key = "seed", .fallback = "1", .min = 0, .doc = "seed of parameter initialisation (and of the data, unless data.seed is set)"},

    {.key = "data.source", .type = Type::choice, .required = true,
     .choices = "random_tokens|random_regression|delayed_recall|adding|copy|sine|mackey_glass|text|brown",
     .doc = "where the sequences come from"},
    {.key = "data.seed", .follows = "seed", .min = 0, .doc = "seed of generated data"},
    {.key = "data.length", .fallback = "100000", .min = 1, .when = {source(kGenerated)}, .doc = "steps of the training stream per epoch"},
    {.key = "data.valid_length", .fallback = "10000", .min = 1, .when = {source(kGenerated)}, .doc = "steps of the validation stream"},
    {.key = "data.test_length", .fallback = "10000", .min = 1, .when = {source(kGenerated)}, .doc = "steps of the test stream"},
    {.key = "data.vocab", .fallback = "5000", .min = 2, .when = {source("random_tokens")}, .doc = "vocabulary V"},
    {.key = "data.input_dim", .fallback = "10", .min = 1, .when = {source("random_regression")}, .doc = "input features I"},
    {.key = "data.output_dim", .fallback = "1", .min = 1, .when = {source("random_regression")}, .doc = "outputs O"},
    {.key = "data.alphabet", .fallback = "8", .min = 2, .when = {source("delayed_recall|copy")}, .doc = "symbols A"},
    {.key = "data.lag", .fallback = "10", .min = 1, .when = {source("delayed_recall")}, .doc = "the target at t is the input at t - lag"},
    {.key = "data.sequence_length", .fallback = "100", .min = 2, .when = {source("adding")}, .doc = "sequence length L"},
    {.key = "data.copy_length", .fallback = "10", .min = 1, .when = {source("copy")}, .doc = "symbols to remember"},
    {.key = "data.delay", .fallback = "50", .min = 0, .when = {source("copy")}, .doc = "blanks between the symbols and the recall marker"},
    {.key = "data.period", .type = Type::number, .fallback = "25", .min = 0, .min_open = true, .when = {source("sine")}, .doc = "period in steps"},
    {.key = "data.tau", .fallback = "17", .min = 1, .when = {source("mackey_glass")}, .doc = "delay of the Mackey-Glass equation"},
    {.key = "data.path", .type = Type::path, .required = true, .when = {source("text")}, .doc = "the corpus file"},
    {.key = "data.valid_path", .type = Type::path, .when = {source("text")}, .doc = "explicit validation file (with data.test_path)"},
    {.key = "data.test_path", .type = Type::path, .when = {source("text")}, .doc = "explicit test file (with data.valid_path)"},
    {.key = "data.level", .type = Type::choice, .fallback = "char", .choices = "char|word", .when = {source(kCorpora)}, .doc = "tokens are code points or words"},
    {.key = "data.split", .type = Type::split, .fallback = "[0.9, 0.05, 0.05]", .when = {source(kCorpora)},
     .doc = "contiguous train/valid/test fractions of the token sequence (absent with data.valid_path)"},
    {.key = "data.min_count", .fallback = "1", .min = 1, .when = {source(kCorpora), {"data.level", "word"}},
     .doc = "rarer training words become <unk>"},
    {.key = "data.max_vocab", .fallback = "0", .min = 0, .when = {source(kCorpora), {"data.level", "word"}},
     .doc = "keep the most frequent words (0 = no limit)"},
    {.key = "data.cache", .type = Type::path, .fallback = "data/cache", .when = {source("brown")}, .doc = "folder holding the npm package (make brown)"},

    {.key = "model.cell", .type = Type::choice, .fallback = "lstm", .choices = "lstm|gru|rnn_tanh", .doc = "recurrent cell"},
    {.key = "model.layers", .fallback = "1", .min = 1, .max = 64, .doc = "stacked recurrent layers"},
    {.key = "model.hidden", .fallback = "128", .min = 1, .max = 65536, .doc = "hidden units H"},
    {.key = "model.embedding", .follows = "model.hidden", .min = 1, .max = 65536, .when = {source(kTokenInput)},
     .doc = "embedding width of token inputs"},
    {.key = "model.output", .type = Type::choice, .fallback = "every_step", .choices = "every_step|last_step", .doc = "the head reads every step, or the last of each window"},
    {.key = "model.init_scale", .type = Type::number, .fallback = "0", .min = 0,
     .doc = "0 = PyTorch's default initialisation; s > 0 = uniform(-s, s) everywhere"},
    {.key = "model.precision", .type = Type::choice, .fallback = "f32", .choices = "f32|bf16", .doc = "arithmetic of the recurrent stack"},

    {.key = "tbptt.k1", .fallback = "20", .min = 1, .doc = "steps between two weight updates"},
    {.key = "tbptt.k2", .follows = "tbptt.k1", .min = 1, .doc = "steps gradients flow back through; must be >= k1"},
    {.key = "tbptt.carry_state", .type = Type::boolean, .fallback = "true", .doc = "carry the state (without gradient) from window to window"},
    {.key = "tbptt.seq_len", .fallback = "0", .min = 0, .doc = "reset the state every seq_len steps (0 = endless rows / a task's natural length)"},
    {.key = "tbptt.drop_last", .type = Type::boolean, .fallback = "false", .doc = "drop the short last window of a sequence"},

    {.key = "train.batch", .fallback = "32", .min = 1, .doc = "rows B of a batch (over all ranks of a run)"},
    {.key = "train.epochs", .fallback = "1", .min = 1, .doc = "passes over the training stream (absent when train.steps > 0)"},
    {.key = "train.steps", .fallback = "0", .min = 0, .doc = "stop after this many updates (0 = run `epochs`); not with train.epochs"},
    {.key = "train.tokens", .fallback = "0", .min = 0,
     .doc = "stop once this many tokens (new window steps x batch) were trained on (0 = no budget); equal budgets across k and batch"},
    {.key = "train.max_time", .type = Type::number, .fallback = "0", .min = 0, .doc = "wall-time budget in seconds (0 = none)"},
    {.key = "train.optimizer.name", .type = Type::choice, .fallback = "adam", .choices = "sgd|adam|adamw", .doc = "optimizer"},
    {.key = "train.optimizer.lr", .type = Type::number, .fallback = "0.001", .min = 0, .min_open = true, .doc = "learning rate"},
    {.key = "train.optimizer.momentum", .type = Type::number, .fallback = "0", .min = 0, .max = 1, .max_open = true,
     .when = {optimizer("sgd")}, .doc = "momentum"},
    {.key = "train.optimizer.nesterov", .type = Type::boolean, .fallback = "false", .when = {optimizer("sgd")},
     .doc = "Nesterov momentum (needs momentum > 0)"},
    {.key = "train.optimizer.beta1", .type = Type::number, .fallback = "0.9", .min = 0, .max = 1, .max_open = true,
     .when = {optimizer("adam|adamw")}, .doc = "first-moment decay"},
    {.key = "train.optimizer.beta2", .type = Type::number, .fallback = "0.999", .min = 0, .max = 1, .max_open = true,
     .when = {optimizer("adam|adamw")}, .doc = "second-moment decay"},
    {.key = "train.optimizer.eps", .type = Type::number, .fallback = "1e-8", .min = 0, .min_open = true,
     .when = {optimizer("adam|adamw")}, .doc = "denominator guard"},
    {.key = "train.optimizer.weight_decay", .type = Type::number, .fallback = "0", .min = 0,
     .doc = "L2 penalty (sgd, adam) or decoupled decay (adamw)"},
    {.key = "train.schedule.name", .type = Type::choice, .fallback = "constant", .choices = "constant|step|plateau|cosine",
     .doc = "learning-rate schedule"},
    {.key = "train.schedule.after_epoch", .fallback = "1", .min = 0, .when = {schedule("step")},
     .doc = "multiply lr by factor after each epoch >= this (Zaremba et al.)"},
    {.key = "train.schedule.factor", .type = Type::number, .fallback = "0.5", .min = 0, .max = 1, .min_open = true,
     .when = {schedule("step|plateau")}, .doc = "lr multiplier (PyTorch's word_language_model uses 0.25 on plateau)"},
    {.key = "train.schedule.patience", .fallback = "0", .min = 0, .when = {schedule("plateau")},
     .doc = "evaluations without improvement before lowering lr"},
    {.key = "train.schedule.min_lr", .type = Type::number, .fallback = "0", .min = 0, .when = {schedule("cosine")}, .doc = "final lr"},
    {.key = "train.schedule.warmup", .fallback = "0", .min = 0, .when = {schedule("cosine")}, .doc = "updates of linear warm-up"},
    {.key = "train.clip_grad_norm", .type = Type::number, .fallback = "0", .min = 0, .doc = "clip the global gradient norm (0 = off)"},

    {.key = "eval.every", .fallback = "0", .min = 0, .doc = "evaluate every n updates (0 = at each epoch end); always at the end"},
    {.key = "eval.batch", .fallback = "10", .min = 1, .doc = "rows of the evaluation batch"},
    {.key = "eval.window", .follows = "tbptt.k2", .min = 1, .doc = "steps per evaluation forward (does not change results)"},
    {.key = "eval.splits", .type = Type::choice_list, .fallback = "[valid]", .choices = "valid|test", .doc = "splits evaluated"},

    {.key = "parallel.ranks_per_run", .fallback = "1", .min = 1, .doc = "MPI ranks sharing one run (each reads batch / ranks rows)"},
    {.key = "parallel.threads_per_rank", .fallback = "0", .min = 0, .doc = "OpenMP threads (0 = OMP_NUM_THREADS, or 1 if unset)"},

    {.key = "checkpoint.every", .fallback = "0", .min = 0, .doc = "checkpoint every n updates (0 = only at the end)"},
    {.key = "checkpoint.keep", .fallback = "2", .min = 1, .doc = "checkpoints kept"},

    {.key = "fidelity.every", .fallback = "0", .min = 0, .doc = "compare the truncated gradient with a longer one every n updates (0 = off)"},
    {.key = "fidelity.horizon", .fallback = "0", .min = 0,
     .doc = "steps of the reference gradient (0 = unset); must be > tbptt.k2 when fidelity.every > 0"},

    {.key = "results.flush_seconds", .type = Type::number, .fallback = "10", .min = 0, .min_open = true, .doc = "flush the run file at least this often"},
};

std::string range_text(const Setting& s) {
  const bool lo = std::isfinite(s.min), hi = std::isfinite(s.max);
  if (lo && hi && s.type == Type::integer) return " in " + format_number(s.min) + ".." + format_number(s.max);
  if (lo && hi)
    return std::string(" in ") + (s.min_open ? "(" : "[") + format_number(s.min) + ", " + format_number(s.max) +
           (s.max_open ? ")" : "]");
  if (lo) return std::string(s.min_open ? " > " : " >= ") + format_number(s.min);
  if (hi) return std::string(s.max_open ? " < " : " <= ") + format_number(s.max);
  return "";
}

const char* type_name(Type t) {
  switch (t) {
    case Type::integer: return "int";
    case Type::number: return "float";
    case Type::boolean: return "bool";
    case Type::identifier: return "name";
    case Type::path: return "path";
    case Type::choice: return "enum";
    case Type::choice_list: return "list";
    case Type::split: return "split";
  }
  return "?";
}

}  // namespace

std::span<const Setting> settings() { return kSettings; }

std::optional<size_t> setting_index(std::string_view key) {
  static const std::unordered_map<std::string_view, size_t> index = [] {
    std::unordered_map<std::string_view, size_t> m;
    for (size_t i = 0; i < std::size(kSettings); ++i) m.emplace(kSettings[i].key, i);
    return m;
  }();
  const auto it = index.find(key);
  if (it == index.end()) return std::nullopt;
  return it->second;
}

const Setting* find_setting(std::string_view key) {
  const auto i = setting_index(key);
  return i ? &kSettings[*i] : nullptr;
}

bool is_section(std::string_view key) {
  if (key.empty()) return true;
  return std::any_of(std::begin(kSettings), std::end(kSettings), [&](const Setting& s) {
    return s.key.size() > key.size() && s.key.starts_with(key) && s.key[key.size()] == '.';
  });
}

std::vector<std::string> section_children(std::string_view section) {
  std::vector<std::string> names;
  for (const Setting& s : kSettings) {
    std::string_view rest = s.key;
    if (!section.empty()) {
      if (!(rest.size() > section.size() && rest.starts_with(section) && rest[section.size()] == '.')) continue;
      rest.remove_prefix(section.size() + 1);
    }
    const std::string child(rest.substr(0, rest.find('.')));
    if (std::find(names.begin(), names.end(), child) == names.end()) names.push_back(child);
  }
  return names;
}

std::string describe_allowed(const Setting& s) {
  switch (s.type) {
    case Type::integer: return "an integer" + range_text(s);
    case Type::number: return "a finite number" + range_text(s);
    case Type::boolean: return "true or false";
    case Type::identifier: return "1 to 128 characters from A-Z a-z 0-9 _ . - (not starting with . or -)";
    case Type::path: return "a file path (relative to the working directory)";
    case Type::choice: return "one of " + list_alternatives(s.choices);
    case Type::choice_list: return "a non-empty list of distinct values from: " + list_alternatives(s.choices);
    case Type::split: return "a list of 3 fractions >= 0 [train, valid, test] summing to 1, or bengio2003 (brown only)";
  }
  return "";
}

std::string list_alternatives(std::string_view alternatives) {
  std::string out;
  for (char c : alternatives) out += c == '|' ? std::string(", ") : std::string(1, c);
  return out;
}

bool is_alternative(std::string_view alternatives, std::string_view value) {
  while (true) {
    const size_t bar = alternatives.find('|');
    if (alternatives.substr(0, bar) == value) return true;
    if (bar == std::string_view::npos) return false;
    alternatives.remove_prefix(bar + 1);
  }
}

std::string describe_conditions(const Setting& s) {
  std::string out;
  for (const Condition& c : s.when) {
    if (c.key.empty()) continue;
    if (!out.empty()) out += " and ";
    out += std::string(c.key) + " = " + std::string(c.values);
  }
  return out;
}

std::string schema_markdown() {
  std::string md =
      "| key | type | default | allowed | applies when | meaning |\n"
      "|-----|------|---------|---------|--------------|---------|\n";
  const auto code = [](std::string_view text) { return std::string("`").append(text).append("`"); };
  for (const Setting& s : kSettings) {
    std::string fallback = s.required ? "required" : "none";
    if (!s.fallback.empty()) fallback = code(s.fallback);
    if (!s.follows.empty()) fallback = "= " + code(s.follows);
    const std::string when = describe_conditions(s);
    md.append("| ").append(code(s.key)).append(" | ").append(type_name(s.type)).append(" | ").append(fallback);
    md.append(" | ").append(describe_allowed(s)).append(" | ").append(when.empty() ? "always" : list_alternatives(when));
    md.append(" | ").append(s.doc).append(" |\n");
  }
  md +=
      "\n"
      "Relative paths are resolved against the working directory `tbptt` runs in (not the YAML file's folder).\n"
      "A key that does not apply (e.g. `data.lag` with `data.source: text`) is an error when set.\n"
      "\n"
      "Sweeps (`sweep:`), expanded seeds outermost, then `grid` keys in file order, then `zip` (fastest):\n"
      "\n"
      "| key | meaning |\n"
      "|-----|---------|\n"
      "| `sweep.grid` | map of dotted key -> list of values; every combination (cartesian product) |\n"
      "| `sweep.zip` | map of dotted key -> list; all lists equally long, walked together |\n"
      "| `sweep.seeds` | list of integers >= 0; repeats everything once per value of `seed` |\n"
      "| `sweep.skip_invalid` | `true` drops impossible combinations (and lists them) instead of failing |\n"
      "\n"
      "A sweep may expand to at most 100000 runs. `--set KEY=VALUE` parses VALUE as YAML and replaces KEY before\n"
      "the sweep is expanded (`--set sweep.grid.tbptt.k1=[5,10]`, `--set sweep={}`).\n";
  return md;
}

}  // namespace tbptt::harness
