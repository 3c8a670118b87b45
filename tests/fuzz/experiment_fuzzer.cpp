// libFuzzer entry point (clang -fsanitize=fuzzer): `make fuzz` runs it with the malformed corpus,
// the experiments and tests/fuzz/seeds as seeds. A FuzzViolation, a crash, a sanitizer report or
// a timeout stops it with a reproducer; keep that file in tests/fuzz/regressions/.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "tests/fuzz/fuzz_experiment.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    tbptt::fuzz::check_experiment(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const tbptt::fuzz::FuzzViolation& e) {
    std::fprintf(stderr, "tbptt fuzz: property violated: %s\n", e.what());
    std::abort();
  }
  return 0;  // any other exception escapes: std::terminate, a crash libFuzzer reports too
}
