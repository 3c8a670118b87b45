#pragma once
// The public face of libtbptt_data: one data set, built from its SourceSpec, that hands out
// window iterators for any split, batch, rank and truncation.
//
//   Dataset ds(spec);                       // validates, reads text once, generates nothing yet
//   ds.shape(); ds.vocabulary(); ds.steps(Split::valid);
//   WindowPlan plan{.split = Split::train, .batch = 32, .rank = r, .ranks = P, .k1 = 20, .k2 = 40};
//   ds.windows_per_epoch(plan);  auto it = ds.windows(plan);
//
// Errors are tbptt::ConfigError naming the dotted key: data.* for the spec and the files,
// train.batch / eval.batch (batch of the train / valid and test splits), tbptt.k1, tbptt.k2,
// tbptt.seq_len, and the split's size setting when it is too small for one window.

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "data/source.h"
#include "data/source_spec.h"
#include "data/window_iterator.h"

namespace tbptt::data {

class Vocabulary;

struct WindowPlan {
  Split split = Split::train;
  int batch = 1;            // B over all ranks of the run
  int rank = 0, ranks = 1;  // this rank's place in the run
  int k1 = 1, k2 = 1;       // tbptt.k1, tbptt.k2
  int64_t seq_len = 0;      // tbptt.seq_len: 0 = endless row-streams (streams) or the task's L
  bool drop_last = false;   // drop a short last sequence and a short last window of each sequence
};

class Dataset {
 public:
  explicit Dataset(const SourceSpec& spec);
  // text / brown with a stored vocabulary (strings in id order, e.g. from a results file):
  // every split is encoded with it, so a model trained on one corpus evaluates another.
  Dataset(const SourceSpec& spec, std::vector<std::string> vocabulary);
  ~Dataset();

  const SourceSpec& spec() const { return spec_; }
  Shape shape() const { return source_->shape(); }
  const std::vector<std::string>& vocabulary() const { return source_->vocabulary(); }
  int64_t steps(Split split) const { return source_->steps(split); }

  int64_t windows_per_epoch(const WindowPlan& plan) const;
  WindowIterator windows(const WindowPlan& plan) const;

  // text / brown only (ConfigError on data.source otherwise): any text in this dataset's ids.
  std::vector<int32_t> encode(std::string_view text) const;
  std::string decode(std::span<const int32_t> ids) const;

 private:
  Dataset(const SourceSpec& spec, const std::vector<std::string>* stored);
  // The plan's layout and schedule, checked: every ConfigError of a plan comes from here.
  std::pair<Layout, Schedule> arrange(const WindowPlan& plan) const;
  const Vocabulary& text_vocabulary() const;
  SourceSpec spec_;
  std::shared_ptr<const Source> source_;
  const Vocabulary* vocabulary_ = nullptr;  // the text source's, null for generated sources
};

}  // namespace tbptt::data
