#include "data/tokenize.h"

#include <cstdint>

#include "common/error.h"

namespace tbptt::data {

Level parse_level(const std::string& level) {
  if (level == "char") return Level::chars;
  if (level == "word") return Level::words;
  throw ConfigError("data.level", level, "char or word");
}

size_t invalid_utf8_offset(std::string_view text) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  auto continuation = [&](size_t i) { return i < text.size() && (byte(i) & 0xC0) == 0x80; };
  for (size_t i = 0; i < text.size();) {
    const unsigned char b = byte(i);
    size_t n;
    uint32_t cp, lowest;
    if (b < 0x80) { n = 1; cp = b; lowest = 0; }
    else if ((b & 0xE0) == 0xC0) { n = 2; cp = b & 0x1F; lowest = 0x80; }
    else if ((b & 0xF0) == 0xE0) { n = 3; cp = b & 0x0F; lowest = 0x800; }
    else if ((b & 0xF8) == 0xF0) { n = 4; cp = b & 0x07; lowest = 0x10000; }
    else return i;
    for (size_t k = 1; k < n; ++k) {
      if (!continuation(i + k)) return i;
      cp = (cp << 6) | (byte(i + k) & 0x3F);
    }
    if (cp < lowest || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += n;
  }
  return std::string_view::npos;
}

}  // namespace tbptt::data
