#pragma once
// The experiment parser and validator under fuzzing: one input = one experiment text plus
// `--set` arguments, and the properties every answer must have.
//
//   input bytes:  <YAML text> [\0 <--set argument>]...       (a NUL never belongs in YAML text)
//
//   rejected  -> only an ExperimentError, located ("fuzz.yaml:L:C" or "--set ..."), one short
//                line of text: what a user sees after "tbptt: " with exit status 2
//   accepted  -> 1..kMaxRuns runs; each run's canonical YAML parses back to exactly that run
//                (same text, same id), so a run id names one configuration and nothing else
//
// A broken property throws FuzzViolation; libFuzzer turns it into a crash with a reproducer,
// the replay test (replay_test.cpp) into a failure.

#include <stdexcept>
#include <string_view>

#include "harness/config/experiment_error.h"

namespace tbptt::fuzz {

class FuzzViolation : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// Runs one input through Experiment::parse and checks the answer. Throws FuzzViolation.
void check_experiment(std::string_view input);

// The properties of a rejection alone (exposed so a test can show that they catch a bad one).
void check_error(const harness::ExperimentError& e);

}  // namespace tbptt::fuzz
