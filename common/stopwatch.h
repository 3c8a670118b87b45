#pragma once
// Wall-clock seconds on the monotonic clock: what updates, passes and runs are timed with.

#include <chrono>

namespace tbptt {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace tbptt
