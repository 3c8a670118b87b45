#include "harness/config/experiment_error.h"

namespace tbptt::harness {

std::string Location::str() const {
  if (line <= 0) return origin;
  return origin + ":" + std::to_string(line) + ":" + std::to_string(column);
}

ExperimentError::ExperimentError(Location where, std::string message)
    : std::runtime_error(where.str() + ": " + message), where_(std::move(where)),
      message_(std::move(message)) {}

// At most kShown bytes of the text as shown, a newline counting as its two-byte escape (so an
// argument of newlines cannot double the line), whole code points only.
std::string quote_for_message(const std::string& text) {
  constexpr size_t kShown = 40;
  std::string shown;
  size_t at = 0;
  while (at < text.size()) {
    size_t n = 1;
    while (at + n < text.size() && (static_cast<unsigned char>(text[at + n]) & 0xC0) == 0x80) ++n;
    const std::string piece = text[at] == '\n' ? std::string("\\n") : text.substr(at, n);  // one line
    if (shown.size() + piece.size() > kShown) break;
    shown += piece;
    at += n;
  }
  if (at < text.size()) shown += "... (" + std::to_string(text.size()) + " bytes)";
  return shown;
}

}  // namespace tbptt::harness
