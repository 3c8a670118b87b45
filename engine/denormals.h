#pragma once
// The engine computes with denormals flushed to zero (FTZ: results below 2^-126 become 0; DAZ:
// such inputs read as 0), on the calling thread and on every OpenMP thread, as TensorFlow does.
//
// Why: on this CPU an arithmetic operation that meets a denormal takes a microcode assist. Adam's
// first moment of an embedding row whose token goes unseen decays by beta1 = 0.9 per update and
// is denormal from about 750 to 900 updates after the token's last occurrence. A word-level
// Brown LM (30k words) carried 225,644 denormal moments (7.7%) at update 2,500, and its
// optimizer time had grown by 28%. An Adam step over 2.3M parameters whose moments are all
// denormal: 29.6 ms, flushed 1.3 ms (bench_engine's optimizer/seed_lm/denormal_moments/*).
// Flushing changes values only below 1.2e-38: that run's loss is the same to 4 decimals.
//
// Set by the Model's constructor: every training or evaluation path of the engine runs flushed.
// OpenMP threads created later inherit the mode from the thread that creates them (Linux copies
// the floating-point control state to a new thread).

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif
#include <omp.h>

namespace tbptt::engine {

inline constexpr unsigned kMxcsrFlushToZero = 0x8000, kMxcsrDenormalsAreZero = 0x0040;

// On every thread of the OpenMP team, the calling thread being its thread 0 (bench_engine turns
// it off to show what it saves).
inline void set_flush_denormals(bool on) {
#if defined(__x86_64__)
  const unsigned mode = kMxcsrFlushToZero | kMxcsrDenormalsAreZero;
#pragma omp parallel num_threads(omp_get_max_threads())
  _mm_setcsr(on ? _mm_getcsr() | mode : _mm_getcsr() & ~mode);
#else
  (void)on;  // other CPUs: left as the platform sets it
#endif
}

inline void flush_denormals() { set_flush_denormals(true); }

}  // namespace tbptt::engine
