#pragma once
// An experiment file plus `--set` overrides -> a validated list of fully resolved runs.
//
//   parse ──▶ apply --set ──▶ validate keys, types, ranges ──▶ expand sweep ──▶ resolve each run
//   (source_tree)  (overrides)        (spec, value)              (sweep)        (resolve, run)
//
// Every run is resolved (and checked) while loading, so a bad combination deep in a sweep is
// reported before anything starts. Runs are not kept: a 100000-run sweep would hold gigabytes;
// run(i) resolves run i again, which is cheap and deterministic.
//
//   auto exp = Experiment::load("exp.yaml", {"tbptt.k2=40"});
//   for (size_t i = 0; i < exp.size(); ++i) {
//     const Run run = exp.run(i);
//     run.get<int64_t>("tbptt.k1"); run.run_id(); run.yaml();
//   }
//   catch (const tbptt::ConfigError& e) { throw exp.located(e); }  // "exp.yaml:4:9: data.path = ..."

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/error.h"
#include "harness/config/run.h"
#include "harness/config/spec.h"

namespace tbptt::harness {

// A combination that sweep.skip_invalid: true dropped.
struct SkippedRun {
  size_t index = 0;    // position in sweep order (0-based)
  SweptValues swept;
  std::string reason;  // "FILE:LINE:COLUMN: MESSAGE"
};

class Experiment {
 public:
  // `sets` are the arguments of --set, e.g. "tbptt.k1=[5,10]". Throws ExperimentError.
  static Experiment load(const std::string& path, const std::vector<std::string>& sets = {});
  // The same for YAML text in memory; `origin` stands for the file name in messages.
  static Experiment parse(std::string_view text, const std::string& origin, const std::vector<std::string>& sets = {});

  const std::string& name() const { return name_; }
  size_t size() const { return kept_.size(); }   // runs to execute
  Run run(size_t i) const;                        // i < size(), in sweep order
  const std::vector<SkippedRun>& skipped() const { return skipped_; }

  // "FILE:LINE:COLUMN" of a key's value (a swept key: its sweep list); falls back to the enclosing
  // map written in the file, then to the top level.
  std::string locate(std::string_view dotted_key) const;
  // A library's ConfigError (naming a dotted key) in this experiment's terms.
  ExperimentError located(const tbptt::ConfigError& e) const;

 private:
  explicit Experiment(SourceNode root, const std::vector<std::string>& sets);
  std::variant<Run, ExperimentError> make(size_t combination) const;  // resolves one sweep combination
  SweptValues swept_of(size_t combination) const;

  ExperimentSpec spec_;
  size_t combinations_ = 0;    // runs the sweep expands to, before skipping
  std::vector<size_t> kept_;   // combinations that are runs
  std::vector<SkippedRun> skipped_;
  std::string name_;
};

}  // namespace tbptt::harness
