#include "harness/config/experiment_error.h"

#include <algorithm>

namespace tbptt::harness {

std::string Location::str() const {
  if (line <= 0) return origin;
  return origin + ":" + std::to_string(line) + ":" + std::to_string(column);
}

ExperimentError::ExperimentError(Location where, std::string message)
    : std::runtime_error(where.str() + ": " + message), where_(std::move(where)),
      message_(std::move(message)) {}

std::string quote_for_message(const std::string& text) {
  constexpr size_t kShown = 40;
  size_t cut = std::min(text.size(), kShown);
  while (cut < text.size() && cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // whole code points
  std::string shown;
  for (char c : text.substr(0, cut)) shown += c == '\n' ? std::string("\\n") : std::string(1, c);  // one line
  if (cut < text.size()) shown += "... (" + std::to_string(text.size()) + " bytes)";
  return shown;
}

}  // namespace tbptt::harness
