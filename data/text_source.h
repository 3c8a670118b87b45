#pragma once
// A text corpus as a token stream: read once into uint32 ids, split, and served as language-model
// steps (input x[p], target x[p+1], so a split of n tokens has n - 1 steps).
//
// Split by fractions (one text): tokenize the whole text (data/tokenize.h) into N tokens, then
//   n_train = floor(f_train * N), n_valid = floor(f_valid * N), n_test = N - n_train - n_valid,
//   train = tokens[0, n_train), valid = the next n_valid, test = the rest (contiguous, as
//   nanoGPT's shakespeare_char; in Python: math.floor(f * N) on the same doubles).
// Split by files (three texts): each text is one split.
// The vocabulary comes from the train tokens only (data/vocabulary.h).

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "data/source.h"
#include "data/vocabulary.h"

namespace tbptt::data {

struct TextSplits {
  std::vector<std::string> texts;    // 1 (split by `fractions`) or 3 (train, valid, test)
  std::vector<double> fractions;     // train, valid, test, when there is one text
  std::array<Setting, 3> settings;   // what decides each split's size, named when it is too small
};

// The whole file; ConfigError on `key` (e.g. "data.path") when it is missing, unreadable, a
// directory, empty or not UTF-8.
std::string read_text_file(const std::string& path, const std::string& key);

class TextSource final : public Source {
 public:
  // `stored`: encode with this vocabulary instead of building one from train (tbptt eval).
  TextSource(const TextSplits& splits, Level level, int min_count, int max_vocab, const Vocabulary* stored = nullptr);

  Shape shape() const override { return {true, vocabulary_.size(), true, vocabulary_.size(), 0}; }
  int64_t steps(Split split) const override { return std::max<int64_t>(0, tokens_of(split) - 1); }
  Setting size_setting(Split split) const override { return settings_[static_cast<int>(split)]; }
  const std::vector<std::string>& vocabulary() const override { return vocabulary_.strings(); }
  void fill(const RowRun& run, RowState* state, Window& w) const override;

  const Vocabulary& vocab() const { return vocabulary_; }
  // The ids of one split, in order (for tests and for tools that compare with another reader).
  std::vector<uint32_t> split_tokens(Split split) const;

 private:
  TextSource(const TextSplits& splits, Level level, const std::array<int64_t, 3>& sizes, int min_count,
             int max_vocab, const Vocabulary* stored);
  int64_t tokens_of(Split split) const { return end_[static_cast<int>(split)] - begin_[static_cast<int>(split)]; }
  Vocabulary vocabulary_;
  std::vector<uint32_t> tokens_;  // train, valid, test back to back
  std::array<int64_t, 3> begin_{}, end_{};
  std::array<Setting, 3> settings_;
};

}  // namespace tbptt::data
