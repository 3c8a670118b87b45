#include "harness/config/experiment.h"

#include <optional>
#include <unordered_map>

#include "common/check.h"
#include "harness/config/overrides.h"
#include "harness/config/sweep.h"

namespace tbptt::harness {
namespace {

std::string describe_swept(const SweptValues& swept) {
  std::string out;
  for (const auto& [key, value] : swept) out += (out.empty() ? "" : ", ") + key + "=" + quote_for_message(value);
  return out;
}

}  // namespace

Experiment Experiment::load(const std::string& path, const std::vector<std::string>& sets) {
  return Experiment(read_experiment_file(path), sets);
}

Experiment Experiment::parse(std::string_view text, const std::string& origin, const std::vector<std::string>& sets) {
  return Experiment(parse_experiment(text, origin), sets);
}

Experiment::Experiment(SourceNode root, const std::vector<std::string>& sets) {
  for (const std::string& set : sets) apply_set(root, set);
  spec_ = read_spec(root);
  combinations_ = count_runs(spec_);
  std::unordered_map<std::string, size_t> first_with_id;  // a repeated configuration would share a results file
  std::optional<ExperimentError> first_impossible;
  for (size_t c = 0; c < combinations_; ++c) {
    std::variant<Run, ExperimentError> made = make(c);
    if (const auto* error = std::get_if<ExperimentError>(&made)) {
      if (!spec_.skip_invalid) throw *error;
      if (!first_impossible) first_impossible = *error;
      skipped_.push_back({c, swept_of(c), error->what()});
      continue;
    }
    const Run& run = std::get<Run>(made);
    if (const auto [it, fresh] = first_with_id.emplace(run.run_id(), c); !fresh)
      throw ExperimentError(spec_.sweep_where, "runs " + std::to_string(it->second + 1) + " and " + std::to_string(c + 1) +
                                                   " of the sweep resolve to the same configuration (" +
                                                   describe_swept(run.swept()) + "); remove the repeated values");
    if (name_.empty()) name_ = run.get<std::string>("name");
    kept_.push_back(c);
  }
  if (kept_.empty())
    throw ExperimentError(first_impossible->where(), "all " + std::to_string(combinations_) +
                                                         " runs of the sweep are impossible; " + first_impossible->message());
}

SweptValues Experiment::swept_of(size_t combination) const {
  const std::vector<size_t> chosen = choose(spec_, combination);
  SweptValues swept;
  for (size_t a = 0; a < spec_.axes.size(); ++a) {
    const Assigned& value = spec_.axes[a].values[chosen[a]];
    swept.emplace_back(settings()[value.setting].key, format_value(value.value));
  }
  return swept;
}

std::variant<Run, ExperimentError> Experiment::make(size_t combination) const {
  std::vector<const Assigned*> slots(settings().size(), nullptr);
  for (const Assigned& a : spec_.plain) slots[a.setting] = &a;
  const std::vector<size_t> chosen = choose(spec_, combination);
  for (size_t a = 0; a < spec_.axes.size(); ++a) slots[spec_.axes[a].setting] = &spec_.axes[a].values[chosen[a]];
  SweptValues swept = swept_of(combination);
  Resolved values;
  if (const auto problem = resolve(slots, values)) {
    const std::string key(settings()[problem->setting].key);
    const Location where = slots[problem->setting] ? slots[problem->setting]->where : spec_.locate(key);
    if (combinations_ <= 1) return ExperimentError(where, problem->message);
    return ExperimentError(where, "run " + std::to_string(combination + 1) + " of " + std::to_string(combinations_) + " (" +
                                      describe_swept(swept) + ") is impossible: " + problem->message +
                                      (spec_.skip_invalid ? "" : "; sweep.skip_invalid: true skips such runs"));
  }
  return Run(combination, std::move(values), std::move(swept));
}

Run Experiment::run(size_t i) const {
  TBPTT_CHECK(i < kept_.size(), "run " + std::to_string(i) + " of " + std::to_string(kept_.size()));
  return std::get<Run>(make(kept_[i]));
}

std::string Experiment::locate(std::string_view dotted_key) const { return spec_.locate(dotted_key).str(); }

ExperimentError Experiment::located(const tbptt::ConfigError& e) const {
  return ExperimentError(spec_.locate(e.setting()), e.what());
}

}  // namespace tbptt::harness
