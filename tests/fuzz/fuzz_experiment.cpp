#include "tests/fuzz/fuzz_experiment.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "harness/config/experiment.h"
#include "harness/config/overrides.h"
#include "harness/config/source_tree.h"
#include "harness/config/spec.h"
#include "harness/config/sweep.h"

namespace tbptt::fuzz {
namespace {

using harness::Experiment;
using harness::ExperimentError;

constexpr size_t kMaxSets = 8;            // --set arguments taken from one input
constexpr size_t kRunsChecked = 8;        // runs of an accepted sweep checked in full
constexpr size_t kMaxRunsExpanded = 2000; // larger sweeps are checked up to counting (see below)
constexpr size_t kMaxMessageBytes = 2048; // a message names a key and a value, never echoes the input
constexpr size_t kMaxOriginBytes = 80;    // "--set " + an argument shortened to 40 bytes + "... (N bytes)"

void require(bool ok, const std::string& what) {
  if (!ok) throw FuzzViolation(what);
}

}  // namespace

void check_error(const ExperimentError& e) {
  const std::string what = e.what();
  const harness::Location& where = e.where();
  require(what == where.str() + ": " + e.message(), "what() is not LOCATION: MESSAGE: " + what.substr(0, 200));
  require(where.origin == "fuzz.yaml" || where.origin.starts_with("--set "),
          "the error names an unknown origin: " + where.origin.substr(0, 200));
  require(where.origin.size() <= kMaxOriginBytes && where.origin.find('\n') == std::string::npos,
          "the origin is not one short line: " + where.origin.substr(0, 200));
  require(where.line >= 0 && where.column >= 0 && (where.line == 0) == (where.column == 0),
          "a broken line:column: " + where.str().substr(0, 200));
  require(!e.message().empty(), "an empty message at " + where.str());
  require(e.message().size() <= kMaxMessageBytes, "a message of " + std::to_string(e.message().size()) + " bytes");
  require(e.message().find('\n') == std::string::npos, "a message of several lines: " + e.message().substr(0, 200));
}

namespace {

void check_run(const Experiment& exp, size_t i) {
  const harness::Run run = exp.run(i);
  const std::string& id = run.run_id();
  const auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
  require(id.size() == 12 && std::all_of(id.begin(), id.end(), hex), "run id " + id + " is not 12 lowercase hex digits");
  require(run.get<std::string>("name") == exp.name(), "run " + std::to_string(i) + " has another name");
  // The canonical text is a complete experiment of its own: it must come back unchanged.
  try {
    const Experiment again = Experiment::parse(run.yaml(), "canonical");
    require(again.size() == 1, "the canonical YAML of run " + std::to_string(i) + " expands to " +
                                   std::to_string(again.size()) + " runs");
    const harness::Run back = again.run(0);
    require(back.yaml() == run.yaml(), "canonical YAML changes when parsed again:\n" + run.yaml() + "\n---\n" + back.yaml());
    require(back.run_id() == id, "the run id changes when the canonical YAML is parsed again");
  } catch (const ExperimentError& e) {
    throw FuzzViolation("the canonical YAML of run " + std::to_string(i) + " is rejected: " + e.what() + "\n" + run.yaml());
  }
}

}  // namespace

void check_experiment(std::string_view input) {
  const size_t nul = std::min(input.find('\0'), input.size());
  const std::string_view text = input.substr(0, nul);
  std::vector<std::string> sets;
  for (size_t at = nul; at < input.size() && sets.size() < kMaxSets;) {
    const size_t next = std::min(input.find('\0', at + 1), input.size());
    sets.emplace_back(input.substr(at + 1, next - at - 1));
    at = next;
  }
  std::optional<Experiment> exp;
  try {
    // Expanding costs ~0.5 ms per run under the sanitizers, so a sweep of 100000 runs (allowed)
    // would stall the fuzzer for a minute on one input: large sweeps stop after the stages that
    // precede expansion (parse, --set, keys and values, counting), which see everything but it.
    harness::SourceNode root = harness::parse_experiment(text, "fuzz.yaml");
    for (const std::string& set : sets) harness::apply_set(root, set);
    if (harness::count_runs(harness::read_spec(root)) > kMaxRunsExpanded) return;
    exp.emplace(Experiment::parse(text, "fuzz.yaml", sets));
  } catch (const ExperimentError& e) {
    check_error(e);
    return;
  }
  require(exp->size() >= 1 && exp->size() <= harness::kMaxRuns, "an accepted sweep of " + std::to_string(exp->size()) + " runs");
  for (size_t i = 0; i < std::min(exp->size(), kRunsChecked); ++i) check_run(*exp, i);
  if (exp->size() > kRunsChecked) check_run(*exp, exp->size() - 1);
}

}  // namespace tbptt::fuzz
