#pragma once
// The strings of a text source's ids, built from the train split only.
//
//   char level: id 0 = "<unk>", then every code point of train in increasing code-point order.
//   word level: id 0 = "<unk>", id 1 = "<eos>", then the train words seen at least min_count
//               times, by decreasing count, ties in increasing code-point order, cut so that
//               V <= max_vocab when max_vocab > 0. The literal words "<unk>" and "<eos>" map to
//               ids 0 and 1 (PTB writes <unk> in its text).
//   Python: char  ['<unk>'] + sorted(set(train))
//           word  ['<unk>', '<eos>'] + [w for w, c in sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))
//                                       if c >= min_count and w not in ('<unk>', '<eos>')][:max_vocab - 2]
//
// Any token not in the vocabulary (a word too rare or unseen, a character never seen in train)
// encodes as <unk>. <unk> is always present, so V depends on the train split alone.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "data/tokenize.h"

namespace tbptt::data {

// Hash map keyed by std::string that is searched with a std::string_view without copying.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <class T>
using StringMap = std::unordered_map<std::string, T, StringHash, std::equal_to<>>;

class Vocabulary {
 public:
  // Builds the vocabulary from token counts of the train split (the rules above).
  static Vocabulary from_counts(Level level, const StringMap<int64_t>& counts, int min_count, int max_vocab);

  // A stored vocabulary, strings in id order (as written to a results file). It must hold <unk>,
  // and <eos> at word level, each string once; a ConfigError on data.level otherwise.
  Vocabulary(Level level, std::vector<std::string> strings);

  Level level() const { return level_; }
  int size() const { return static_cast<int>(strings_.size()); }
  const std::vector<std::string>& strings() const { return strings_; }
  int32_t id(std::string_view token) const;  // the <unk> id for tokens not in the vocabulary

  std::vector<int32_t> encode(std::string_view text) const;  // text: valid UTF-8
  // Char level: the concatenation, so decode(encode(x)) == x when every character of x is known.
  // Word level: words joined by ' ', each <eos> a '\n'.
  std::string decode(std::span<const int32_t> ids) const;

 private:
  Level level_;
  std::vector<std::string> strings_;
  StringMap<int32_t> ids_;
  int32_t unk_ = 0;
};

}  // namespace tbptt::data
