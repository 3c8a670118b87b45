#pragma once
// TBPTT_CHECK: an internal invariant that, when broken, is a bug in tbptt (not bad user input).
// It throws std::logic_error carrying file:line, the failed condition and a hint, so a failure
// deep inside a sweep is recorded in the run's file instead of aborting the whole mpirun job.

#include <stdexcept>
#include <string>

#define TBPTT_CHECK(cond, hint)                                                              \
  do {                                                                                       \
    if (!(cond))                                                                             \
      throw std::logic_error(std::string(__FILE__) + ":" + std::to_string(__LINE__) +       \
                             ": check failed: " #cond " (" + std::string(hint) + ")");        \
  } while (0)
