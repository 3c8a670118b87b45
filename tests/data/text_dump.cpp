// Prints what data/ makes of a text, for text_reference.py to compare with its own Python reading
// of the rules in data/README.md:
//
//   text_dump text PATH LEVEL F_TRAIN F_VALID F_TEST MIN_COUNT MAX_VOCAB
//       "vocab" line, then one line per vocabulary string (UTF-8 bytes in hex), then the lines
//       "train", "valid", "test", each followed by one line of space-separated ids
//   text_dump brown CACHE
//       the plain text of the Brown corpus under CACHE, in hex

#include <cstdio>
#include <iostream>
#include <string>

#include "common/error.h"
#include "data/brown.h"
#include "data/text_source.h"

namespace {

std::string hex(const std::string& s) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) out += {digits[c >> 4], digits[c & 15]};
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tbptt::data;
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "brown" && argc == 3) {
      std::cout << hex(brown_plain_text(argv[2])) << '\n';
      return 0;
    }
    if (mode != "text" || argc != 9) {
      std::cerr << "usage: text_dump text PATH LEVEL F_TRAIN F_VALID F_TEST MIN_COUNT MAX_VOCAB | brown CACHE\n";
      return 2;
    }
    TextSplits splits;
    splits.texts.push_back(read_text_file(argv[2], "data.path"));
    splits.fractions = {std::stod(argv[4]), std::stod(argv[5]), std::stod(argv[6])};
    splits.settings.fill({"data.split", "(from the command line)"});
    const TextSource source(splits, parse_level(argv[3]), std::stoi(argv[7]), std::stoi(argv[8]));
    std::cout << "vocab\n";
    for (const auto& s : source.vocabulary()) std::cout << hex(s) << '\n';
    for (Split split : {Split::train, Split::valid, Split::test}) {
      std::cout << split_name(split) << '\n';
      for (uint32_t id : source.split_tokens(split)) std::cout << id << ' ';
      std::cout << '\n';
    }
  } catch (const tbptt::ConfigError& e) {
    std::cerr << e.what() << '\n';
    return 1;
  }
  return 0;
}
