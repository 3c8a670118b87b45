#include "data/source.h"

namespace tbptt::data {

GeneratedSource::GeneratedSource(const SourceSpec& spec, int vocabulary_size)
    : seed_(static_cast<uint64_t>(spec.seed)), steps_{spec.length, spec.valid_length, spec.test_length} {
  vocabulary_.reserve(vocabulary_size);
  for (int i = 0; i < vocabulary_size; ++i) vocabulary_.push_back(std::to_string(i));
}

Setting GeneratedSource::size_setting(Split split) const {
  static const char* keys[] = {"data.length", "data.valid_length", "data.test_length"};
  return {keys[static_cast<int>(split)], std::to_string(steps(split))};
}

}  // namespace tbptt::data
