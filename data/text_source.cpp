#include "data/text_source.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace tbptt::data {

std::string read_text_file(const std::string& path, const std::string& key) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) throw ConfigError(key, path, "an existing text file (not found)");
  if (std::filesystem::is_directory(status)) throw ConfigError(key, path, "a text file, not a directory");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (!in || !(text << in.rdbuf())) {
    // operator<< fails on an empty stream too; tell the two apart by the size.
    if (in && std::filesystem::file_size(path, ec) == 0) throw ConfigError(key, path, "a non-empty text file");
    throw ConfigError(key, path, "a readable text file (it cannot be read)");
  }
  std::string out = std::move(text).str();
  if (const size_t bad = invalid_utf8_offset(out); bad != std::string::npos)
    throw ConfigError(key, path, "UTF-8 text (byte " + std::to_string(bad) + " is not)");
  return out;
}

namespace {

int64_t count_tokens(std::string_view text, Level level) {
  int64_t n = 0;
  for_each_token(text, level, [&](std::string_view) { ++n; });
  return n;
}

// Tokens in train, valid, test (the rule in the header).
std::array<int64_t, 3> split_sizes(const TextSplits& splits, Level level) {
  if (splits.texts.size() == 3)
    return {count_tokens(splits.texts[0], level), count_tokens(splits.texts[1], level),
            count_tokens(splits.texts[2], level)};
  const int64_t n = count_tokens(splits.texts.at(0), level);
  const auto n_train = static_cast<int64_t>(std::floor(splits.fractions.at(0) * static_cast<double>(n)));
  const auto n_valid = static_cast<int64_t>(std::floor(splits.fractions.at(1) * static_cast<double>(n)));
  return {n_train, n_valid, n - n_train - n_valid};
}

// The vocabulary of the first `n_train` tokens of the first text (all of them when the texts are files).
Vocabulary train_vocabulary(const TextSplits& splits, Level level, int64_t n_train, int min_count, int max_vocab) {
  StringMap<int64_t> counts;
  int64_t seen = 0;
  for_each_token(splits.texts.at(0), level, [&](std::string_view token) {
    if (seen++ >= n_train) return;
    auto it = counts.find(token);
    if (it == counts.end()) it = counts.emplace(std::string(token), 0).first;
    ++it->second;
  });
  return Vocabulary::from_counts(level, counts, min_count, max_vocab);
}

}  // namespace

TextSource::TextSource(const TextSplits& splits, Level level, int min_count, int max_vocab, const Vocabulary* stored)
    : TextSource(splits, level, split_sizes(splits, level), min_count, max_vocab, stored) {}

TextSource::TextSource(const TextSplits& splits, Level level, const std::array<int64_t, 3>& sizes, int min_count,
                       int max_vocab, const Vocabulary* stored)
    : vocabulary_(stored ? *stored : train_vocabulary(splits, level, sizes[0], min_count, max_vocab)),
      settings_(splits.settings) {
  for (int s = 0; s < 3; ++s) {
    // Every split needs a step, except one the user asked to be empty with a fraction of 0
    // (nanoGPT's 90/10 split has no test split): that one is refused only if something uses it.
    const bool asked_empty = s > 0 && splits.texts.size() == 1 && splits.fractions.at(s) == 0.0;
    if (sizes[s] < 2 && !asked_empty)
      throw ConfigError(settings_[s].key, settings_[s].value,
                        std::string("a ") + split_name(static_cast<Split>(s)) +
                            " split of at least 2 tokens (one step); it has " + std::to_string(sizes[s]));
    begin_[s] = s == 0 ? 0 : end_[s - 1];
    end_[s] = begin_[s] + sizes[s];
  }
  tokens_.reserve(end_[2]);
  for (const auto& text : splits.texts)
    for_each_token(text, level, [&](std::string_view token) { tokens_.push_back(vocabulary_.id(token)); });
}

void TextSource::fill(const RowRun& run, RowState*, Window& w) const {
  const uint32_t* x = tokens_.data() + begin_[static_cast<int>(run.split)] + run.position;
  for (int t = 0; t < run.steps; ++t) {
    const size_t c = cell(w, t, run.row);
    w.tokens[c] = static_cast<int32_t>(x[t]);
    w.target_ids[c] = static_cast<int32_t>(x[t + 1]);
    w.has_target[c] = 1;
  }
}

std::vector<uint32_t> TextSource::split_tokens(Split split) const {
  const int s = static_cast<int>(split);
  return {tokens_.begin() + begin_[s], tokens_.begin() + end_[s]};
}

}  // namespace tbptt::data
