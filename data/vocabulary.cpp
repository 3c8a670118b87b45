#include "data/vocabulary.h"

#include <algorithm>

#include "common/error.h"

namespace tbptt::data {

Vocabulary Vocabulary::from_counts(Level level, const StringMap<int64_t>& counts, int min_count, int max_vocab) {
  std::vector<std::string> strings{std::string(unk_token)};
  if (level == Level::words) strings.emplace_back(eos_token);
  std::vector<std::pair<int64_t, std::string_view>> kept;  // (count, token)
  for (const auto& [token, count] : counts) {
    const bool special = token == unk_token || token == eos_token;
    if (!special && (level == Level::chars || count >= min_count)) kept.emplace_back(count, token);
  }
  if (level == Level::chars) {
    std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  } else {
    // std::string_view compares bytes as unsigned char: UTF-8 byte order is code-point order.
    std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    if (max_vocab > 0 && kept.size() + strings.size() > static_cast<size_t>(max_vocab))
      kept.resize(max_vocab - strings.size());
  }
  for (const auto& kv : kept) strings.emplace_back(kv.second);
  return Vocabulary(level, std::move(strings));
}

Vocabulary::Vocabulary(Level level, std::vector<std::string> strings) : level_(level), strings_(std::move(strings)) {
  ids_.reserve(strings_.size());
  for (size_t i = 0; i < strings_.size(); ++i)
    if (!ids_.emplace(strings_[i], static_cast<int32_t>(i)).second)
      throw ConfigError("data.level", level == Level::chars ? "char" : "word",
                        "a vocabulary with each string once (\"" + strings_[i] + "\" repeats)");
  const auto unk = ids_.find(unk_token);
  if (unk == ids_.end() || (level == Level::words && !ids_.contains(eos_token)))
    throw ConfigError("data.level", level == Level::chars ? "char" : "word",
                      "the level the stored vocabulary was built with (it lacks <unk> or <eos>)");
  unk_ = unk->second;
}

int32_t Vocabulary::id(std::string_view token) const {
  const auto it = ids_.find(token);
  return it == ids_.end() ? unk_ : it->second;
}

std::vector<int32_t> Vocabulary::encode(std::string_view text) const {
  std::vector<int32_t> ids;
  for_each_token(text, level_, [&](std::string_view token) { ids.push_back(id(token)); });
  return ids;
}

std::string Vocabulary::decode(std::span<const int32_t> ids) const {
  std::string text;
  bool line_start = true;
  for (int32_t i : ids) {
    const std::string& s = strings_.at(static_cast<size_t>(i));
    if (level_ == Level::chars) {
      text += s;
    } else if (s == eos_token) {
      text += '\n';
      line_start = true;
    } else {
      if (!line_start) text += ' ';
      text += s;
      line_start = false;
    }
  }
  return text;
}

}  // namespace tbptt::data
