#pragma once
// "Did you mean ...?" for misspelt keys and values.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tbptt::harness {

// Optimal-string-alignment distance, case-insensitive: insertions, deletions, substitutions and
// swaps of two adjacent characters each cost 1 ("hiden" -> "hidden" = 1, "modle" -> "model" = 1).
size_t edit_distance(std::string_view a, std::string_view b);

struct Suggestion {
  std::string text;
  size_t distance = 0;
};

// The candidate nearest to `word`, if it is close enough to be a plausible typo
// (distance <= max(1, min(3, |word| / 3))). Ties go to the earlier candidate.
std::optional<Suggestion> closest(std::string_view word, std::span<const std::string> candidates);

}  // namespace tbptt::harness
