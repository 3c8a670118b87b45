#pragma once
// How text becomes tokens, written once so the vocabulary, the split and encode() agree.
//
//   char level: one token per Unicode code point (the text must be valid UTF-8).
//   word level: lines are the pieces between '\n' (a last piece without '\n' is a line if it is
//               not empty); each line gives its words, the maximal runs of bytes other than
//               ' ', '\t', '\r', '\v', '\f', then "<eos>". An empty line gives just "<eos>".
//
// Python equivalent (text = open(path, 'rb').read().decode('utf-8')):
//   char: tokens = list(text)
//   word: lines = text.split('\n'); lines = lines[:-1] if lines[-1] == '' else lines
//         tokens = [w.decode() for line in lines for w in line.encode().split()] + ['<eos>'] per line

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace tbptt::data {

enum class Level { chars, words };

// "char" or "word"; anything else is a ConfigError on data.level.
Level parse_level(const std::string& level);

inline constexpr std::string_view unk_token = "<unk>";
inline constexpr std::string_view eos_token = "<eos>";

// Offset of the first byte where `text` stops being strict UTF-8 (as Python decodes it: no
// overlong forms, no surrogates, nothing above U+10FFFF), or npos when all of it is valid.
size_t invalid_utf8_offset(std::string_view text);

// Calls fn(line) for each line: the pieces between '\n', and a last piece without '\n' if not empty.
template <class Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  for (size_t line = 0; line < text.size();) {
    const size_t end = std::min(text.find('\n', line), text.size());
    fn(text.substr(line, end - line));
    line = end + 1;
  }
}

// Calls fn(word) for each maximal run of bytes other than ' ', '\t', '\r', '\v', '\f', '\n'
// (the ASCII whitespace of Python's bytes.split()).
template <class Fn>
void for_each_word(std::string_view line, Fn&& fn) {
  constexpr std::string_view blanks = " \t\r\v\f\n";
  for (size_t w = line.find_first_not_of(blanks); w < line.size();) {
    const size_t stop = std::min(line.find_first_of(blanks, w), line.size());
    fn(line.substr(w, stop - w));
    w = line.find_first_not_of(blanks, stop);
  }
}

// Calls fn(std::string_view token) for every token of valid UTF-8 `text`, in order.
template <class Fn>
void for_each_token(std::string_view text, Level level, Fn&& fn) {
  if (level == Level::words) {
    for_each_line(text, [&](std::string_view line) {
      for_each_word(line, fn);
      fn(eos_token);
    });
    return;
  }
  for (size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const size_t n = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    fn(text.substr(i, n));
    i += n;
  }
}

}  // namespace tbptt::data
