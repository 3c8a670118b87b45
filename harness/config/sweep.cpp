#include "harness/config/sweep.h"

#include <cstdint>
#include <string>

namespace tbptt::harness {

size_t count_runs(const ExperimentSpec& spec) {
  const SweepAxis* first_zip = nullptr;
  constexpr uint64_t kHuge = 1'000'000'000'000'000'000ULL;  // saturate: only "too many" matters beyond this
  uint64_t runs = 1;
  std::string factors;
  for (const SweepAxis& axis : spec.axes) {
    const std::string key(settings()[axis.setting].key);
    if (axis.kind == SweepAxis::Kind::zip) {
      if (first_zip) {
        if (axis.values.size() != first_zip->values.size())
          throw ExperimentError(axis.where, "sweep.zip lists must all have the same length: " + key + " has " +
                                                std::to_string(axis.values.size()) + " values but " +
                                                std::string(settings()[first_zip->setting].key) + " has " +
                                                std::to_string(first_zip->values.size()));
        continue;  // walked together with the first zip list: no new factor
      }
      first_zip = &axis;
    }
    if (__builtin_mul_overflow(runs, uint64_t{axis.values.size()}, &runs) || runs > kHuge) runs = kHuge;
    factors += (factors.empty() ? "" : " x ") + std::to_string(axis.values.size()) + " (" +
               (axis.kind == SweepAxis::Kind::zip ? "zip" : key) + ")";
  }
  if (runs > kMaxRuns) {
    const std::string count = runs == kHuge ? "at least 10^18" : std::to_string(runs);
    throw ExperimentError(spec.sweep_where, "the sweep expands to " + count + " runs = " + factors + "; at most " +
                                               std::to_string(kMaxRuns) + " are allowed");
  }
  return static_cast<size_t>(runs);
}

std::vector<size_t> choose(const ExperimentSpec& spec, size_t run) {
  std::vector<size_t> chosen(spec.axes.size());
  size_t zip_length = 0;
  for (const SweepAxis& axis : spec.axes)
    if (axis.kind == SweepAxis::Kind::zip) zip_length = axis.values.size();
  if (zip_length > 0) {
    for (size_t a = 0; a < spec.axes.size(); ++a)
      if (spec.axes[a].kind == SweepAxis::Kind::zip) chosen[a] = run % zip_length;
    run /= zip_length;
  }
  for (size_t a = spec.axes.size(); a-- > 0;) {
    if (spec.axes[a].kind == SweepAxis::Kind::zip) continue;
    chosen[a] = run % spec.axes[a].values.size();
    run /= spec.axes[a].values.size();
  }
  return chosen;
}

}  // namespace tbptt::harness
