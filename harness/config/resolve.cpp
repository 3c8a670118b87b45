#include "harness/config/resolve.h"

#include <filesystem>

namespace tbptt::harness {
namespace {

const Resolved& schema_defaults() {
  static const Resolved defaults = [] {
    Resolved d;
    for (const Setting& s : settings()) {
      if (s.fallback.empty()) {
        d.emplace_back();
        continue;
      }
      d.emplace_back(parse_value(s, parse_set_value(s.fallback, "default of " + std::string(s.key))));
    }
    return d;
  }();
  return defaults;
}

size_t index_of(std::string_view key) { return *setting_index(key); }

// The first condition of `s` that the run does not meet, or nullptr when `s` applies.
const Condition* unmet(const Setting& s, const Resolved& out) {
  for (const Condition& c : s.when) {
    if (c.key.empty()) continue;
    const std::optional<Value>& selector = out[index_of(c.key)];
    const std::string* value = selector ? std::get_if<std::string>(&*selector) : nullptr;
    if (!value || !is_alternative(c.values, *value)) return &c;
  }
  return nullptr;
}

// Typed reads of a resolved run, for the cross-setting rules below.
struct RunView {
  const Resolved& out;
  std::span<const Assigned* const> slots;

  bool has(std::string_view key) const { return out[index_of(key)].has_value(); }
  bool assigned(std::string_view key) const { return slots[index_of(key)] != nullptr; }
  int64_t integer(std::string_view key) const { return std::get<int64_t>(*out[index_of(key)]); }
  double number(std::string_view key) const { return std::get<double>(*out[index_of(key)]); }
  std::string text(std::string_view key) const { return format_value(*out[index_of(key)]); }
  bool is(std::string_view key, std::string_view value) const {
    const auto* s = has(key) ? std::get_if<std::string>(&*out[index_of(key)]) : nullptr;
    return s && *s == value;
  }
};

Problem blame(std::string_view key, std::string message) { return {index_of(key), std::move(message)}; }

std::optional<Problem> check_rules(const RunView& run) {
  const auto k1 = run.integer("tbptt.k1"), k2 = run.integer("tbptt.k2"), seq_len = run.integer("tbptt.seq_len");
  if (k2 < k1)
    return blame("tbptt.k2", "tbptt.k2 = " + std::to_string(k2) + " must be >= tbptt.k1 = " + std::to_string(k1) +
                                 " (gradients flow back at least over the k1 new steps)");
  if (seq_len > 0 && k1 > seq_len)
    return blame("tbptt.k1", "tbptt.k1 = " + std::to_string(k1) + " must be <= tbptt.seq_len = " + std::to_string(seq_len) +
                                 " (a window cannot be longer than a sequence; seq_len 0 = endless rows)");
  const auto batch = run.integer("train.batch"), ranks = run.integer("parallel.ranks_per_run");
  if (batch % ranks != 0)
    return blame("train.batch", "train.batch = " + std::to_string(batch) + " must be divisible by parallel.ranks_per_run = " +
                                    std::to_string(ranks) + " (each rank reads batch / ranks rows)");
  if (run.integer("train.steps") > 0 && run.assigned("train.epochs"))
    return blame("train.steps", "set train.epochs or train.steps, not both (train.epochs = " + run.text("train.epochs") +
                                    " is set too)");
  if (run.has("data.valid_path") != run.has("data.test_path")) {
    const char* given = run.has("data.valid_path") ? "data.valid_path" : "data.test_path";
    const char* missing = run.has("data.valid_path") ? "data.test_path" : "data.valid_path";
    return blame(given, std::string(given) + " needs " + missing + " too: explicit splits are both files or neither");
  }
  if (run.has("data.valid_path") && run.assigned("data.split"))
    return blame("data.split", "data.split does not apply when data.valid_path and data.test_path give the splits");
  if (run.is("data.split", "bengio2003") && !run.is("data.source", "brown"))
    return blame("data.split", "data.split = bengio2003 applies only to data.source = brown; use [train, valid, test] fractions");
  if (run.integer("fidelity.every") > 0 && run.integer("fidelity.horizon") <= k2)
    return blame(run.assigned("fidelity.horizon") ? "fidelity.horizon" : "fidelity.every",
                 "fidelity.horizon = " + run.text("fidelity.horizon") + " must be > tbptt.k2 = " + std::to_string(k2) +
                     " when fidelity.every > 0 (the reference gradient must reach further back than the truncated one)");
  if (run.has("train.optimizer.nesterov") && std::get<bool>(*run.out[index_of("train.optimizer.nesterov")]) &&
      run.number("train.optimizer.momentum") <= 0)
    return blame("train.optimizer.nesterov", "train.optimizer.nesterov = true needs train.optimizer.momentum > 0");
  return std::nullopt;
}

}  // namespace

std::optional<Problem> resolve(std::span<const Assigned* const> slots, Resolved& out) {
  const std::span<const Setting> all = settings();
  const Resolved& defaults = schema_defaults();
  out.assign(all.size(), std::nullopt);
  // Table order puts every selector (data.source, ...) and followed key before the keys that use it.
  for (size_t i = 0; i < all.size(); ++i) {
    const Setting& s = all[i];
    const Condition* condition = unmet(s, out);
    if (slots[i] && condition) {
      const std::optional<Value>& selector = out[index_of(condition->key)];
      return Problem{i, std::string(s.key) + " does not apply to " + std::string(condition->key) + " = " +
                            (selector ? format_value(*selector) : std::string("(unset)")) +
                            " (it applies to: " + list_alternatives(condition->values) + ")"};
    }
    if (condition) continue;
    if (slots[i]) out[i] = slots[i]->value;
    else if (!s.follows.empty()) out[i] = out[index_of(s.follows)];
    else out[i] = defaults[i];
    if (!out[i] && s.required) {
      const std::string when = describe_conditions(s);
      return Problem{i, std::string(s.key) + " is required" + (when.empty() ? "" : " when " + when) + ": " +
                            describe_allowed(s)};
    }
  }
  if (auto problem = check_rules(RunView{out, slots})) return problem;
  // Settings made moot by another value are dropped (check_rules refused them when set), so the
  // canonical text reads back without a conflict and they cannot change the run id.
  if (std::get<int64_t>(*out[index_of("train.steps")]) > 0) out[index_of("train.epochs")].reset();
  if (out[index_of("data.valid_path")]) out[index_of("data.split")].reset();
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i].type == Type::path && out[i])
      out[i] = std::filesystem::absolute(std::get<std::string>(*out[i])).lexically_normal().string();
  return std::nullopt;
}

}  // namespace tbptt::harness
