#include "harness/config/suggest.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace tbptt::harness {

size_t edit_distance(std::string_view a, std::string_view b) {
  const auto same = [&](size_t i, size_t j) {
    return std::tolower(static_cast<unsigned char>(a[i])) == std::tolower(static_cast<unsigned char>(b[j]));
  };
  // d[i][j] = distance between the first i bytes of a and the first j bytes of b; three rows suffice.
  std::vector<size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (same(i - 1, j - 1) ? 0 : 1)});
      if (i > 1 && j > 1 && same(i - 1, j - 2) && same(i - 2, j - 1))
        current[j] = std::min(current[j], before[j - 2] + 1);
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::optional<Suggestion> closest(std::string_view word, std::span<const std::string> candidates) {
  const size_t limit = std::max<size_t>(1, std::min<size_t>(3, word.size() / 3));
  std::optional<Suggestion> best;
  for (const std::string& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d <= limit && (!best || d < best->distance)) best = Suggestion{c, d};
  }
  return best;
}

}  // namespace tbptt::harness
