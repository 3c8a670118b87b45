#include "data/dataset.h"

#include <optional>

#include "common/error.h"
#include "data/brown.h"
#include "data/memory_tasks.h"
#include "data/random_sources.h"
#include "data/signals.h"
#include "data/text_source.h"

namespace tbptt::data {
namespace {

TextSplits text_splits(const SourceSpec& spec) {
  if (spec.source == "brown") return brown_splits(spec);
  TextSplits splits;
  splits.texts.push_back(read_text_file(spec.path, "data.path"));
  if (spec.valid_path.empty()) {
    splits.fractions = spec.split.fractions;
    splits.settings.fill({"data.split", to_string(spec.split)});
  } else {
    splits.texts.push_back(read_text_file(spec.valid_path, "data.valid_path"));
    splits.texts.push_back(read_text_file(spec.test_path, "data.test_path"));
    splits.settings = {Setting{"data.path", spec.path}, Setting{"data.valid_path", spec.valid_path},
                       Setting{"data.test_path", spec.test_path}};
  }
  return splits;
}

std::unique_ptr<Source> make_generated(const SourceSpec& spec) {
  const std::string& s = spec.source;
  if (s == "random_tokens") return make_random_tokens(spec);
  if (s == "random_regression") return make_random_regression(spec);
  if (s == "delayed_recall") return make_delayed_recall(spec);
  if (s == "adding") return make_adding(spec);
  if (s == "copy") return make_copy(spec);
  if (s == "sine") return make_sine(spec);
  return make_mackey_glass(spec);
}

bool is_text(const SourceSpec& spec) { return spec.source == "text" || spec.source == "brown"; }

}  // namespace

Dataset::Dataset(const SourceSpec& spec) : Dataset(spec, nullptr) {}
Dataset::Dataset(const SourceSpec& spec, std::vector<std::string> vocabulary) : Dataset(spec, &vocabulary) {}
Dataset::~Dataset() = default;

Dataset::Dataset(const SourceSpec& spec, const std::vector<std::string>* stored) : spec_(spec) {
  validate(spec_);
  if (!is_text(spec_)) {
    if (stored) throw ConfigError("data.source", spec_.source, "text or brown (the sources with a stored vocabulary)");
    source_ = make_generated(spec_);
    return;
  }
  const Level level = parse_level(spec_.level);
  const std::optional<Vocabulary> vocabulary = stored ? std::optional<Vocabulary>(Vocabulary(level, *stored)) : std::nullopt;
  auto text = std::make_shared<const TextSource>(text_splits(spec_), level, spec_.min_count, spec_.max_vocab,
                                                 vocabulary ? &*vocabulary : nullptr);
  vocabulary_ = &text->vocab();
  source_ = std::move(text);
}

int64_t Dataset::windows_per_epoch(const WindowPlan& plan) const { return arrange(plan).second.windows(); }

WindowIterator Dataset::windows(const WindowPlan& plan) const {
  auto [layout, schedule] = arrange(plan);
  return WindowIterator(source_, plan.split, layout, schedule);
}

std::pair<Layout, Schedule> Dataset::arrange(const WindowPlan& plan) const {
  const int64_t L = source_->shape().sequence_length;
  if (plan.seq_len < 0 || (L > 0 && plan.seq_len != 0 && plan.seq_len != L))
    throw ConfigError("tbptt.seq_len", std::to_string(plan.seq_len),
                      L > 0 ? "0 or " + std::to_string(L) + " (the task's sequence length)"
                            : "0 (endless row-streams) or an integer >= 1");
  if (steps(plan.split) == 0) {
    const Setting size = source_->size_setting(plan.split);
    throw ConfigError(size.key, size.value, std::string("a ") + split_name(plan.split) + " split with at least one step (2 tokens) to use it; it is empty");
  }
  const Layout layout(steps(plan.split), L, plan.batch, plan.rank, plan.ranks,
                      plan.split == Split::train ? "train.batch" : "eval.batch");
  const int64_t S = L > 0 ? L : plan.seq_len > 0 ? plan.seq_len : layout.row_steps();
  const Schedule schedule(layout.row_steps(), S, plan.k1, plan.k2, plan.drop_last);
  if (schedule.windows() == 0) {
    const Setting size = source_->size_setting(plan.split);
    throw ConfigError(size.key, size.value,
                      std::string("a ") + split_name(plan.split) + " split with at least one window: rows of " +
                          std::to_string(layout.row_steps()) + " steps give none with drop_last, k1 = " +
                          std::to_string(plan.k1) + ", seq_len = " + std::to_string(plan.seq_len));
  }
  return {layout, schedule};
}

const Vocabulary& Dataset::text_vocabulary() const {
  if (!vocabulary_) throw ConfigError("data.source", spec_.source, "text or brown (the sources that encode text)");
  return *vocabulary_;
}

std::vector<int32_t> Dataset::encode(std::string_view text) const {
  if (const size_t bad = invalid_utf8_offset(text); bad != std::string_view::npos)
    throw ConfigError("data.path", "(text to encode)", "UTF-8 text (byte " + std::to_string(bad) + " is not)");
  return text_vocabulary().encode(text);
}

std::string Dataset::decode(std::span<const int32_t> ids) const { return text_vocabulary().decode(ids); }

}  // namespace tbptt::data
