#pragma once
// The few statistics the summary and the report need, over the finite values only: a run that
// diverged or lacks a measure contributes NaN, which must not poison a median or a mean.

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "results/schema.h"

namespace tbptt::results {

inline std::vector<double> finite(std::vector<double> values) {
  std::erase_if(values, [](double v) { return !std::isfinite(v); });
  return values;
}

inline double median(std::vector<double> values) {
  values = finite(std::move(values));
  if (values.empty()) return kNaN;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

inline double mean(const std::vector<double>& values) {
  const std::vector<double> kept = finite(values);
  if (kept.empty()) return kNaN;
  return std::accumulate(kept.begin(), kept.end(), 0.0) / static_cast<double>(kept.size());
}

// Sample standard deviation (n - 1); NaN for fewer than two values.
inline double stddev(const std::vector<double>& values) {
  const std::vector<double> kept = finite(values);
  if (kept.size() < 2) return kNaN;
  const double m = mean(kept);
  double sum = 0;
  for (double v : kept) sum += (v - m) * (v - m);
  return std::sqrt(sum / static_cast<double>(kept.size() - 1));
}

inline double minimum(const std::vector<double>& values) {
  const std::vector<double> kept = finite(values);
  return kept.empty() ? kNaN : *std::min_element(kept.begin(), kept.end());
}

inline double maximum(const std::vector<double>& values) {
  const std::vector<double> kept = finite(values);
  return kept.empty() ? kNaN : *std::max_element(kept.begin(), kept.end());
}

}  // namespace tbptt::results
