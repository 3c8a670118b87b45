#include "data/random_sources.h"

#include "common/counter_rng.h"

namespace tbptt::data {
namespace {

enum Field : uint64_t { input = 0, target = 1 };

class RandomTokens final : public GeneratedSource {
 public:
  explicit RandomTokens(const SourceSpec& spec) : GeneratedSource(spec, spec.vocab), V_(spec.vocab) {}

  Shape shape() const override { return {true, V_, true, V_, 0}; }

  void fill(const RowRun& run, RowState*, Window& w) const override {
    const uint64_t in = rng_stream(Task::random_tokens, run.split, input);
    const uint64_t out = rng_stream(Task::random_tokens, run.split, target);
    for (int t = 0; t < run.steps; ++t) {
      const uint64_t p = static_cast<uint64_t>(run.position + t);
      const size_t c = cell(w, t, run.row);
      w.tokens[c] = static_cast<int32_t>(rng::below(V_, seed_, in, p));
      w.target_ids[c] = static_cast<int32_t>(rng::below(V_, seed_, out, p));
      w.has_target[c] = 1;
    }
  }

 private:
  int V_;
};

class RandomRegression final : public GeneratedSource {
 public:
  explicit RandomRegression(const SourceSpec& spec)
      : GeneratedSource(spec, 0), I_(spec.input_dim), O_(spec.output_dim) {}

  Shape shape() const override { return {false, I_, false, O_, 0}; }

  // Element i of step p's input is normal number p*I + i of its stream (likewise the target).
  void fill(const RowRun& run, RowState*, Window& w) const override {
    const uint64_t in = rng_stream(Task::random_regression, run.split, input);
    const uint64_t out = rng_stream(Task::random_regression, run.split, target);
    for (int t = 0; t < run.steps; ++t) {
      const uint64_t p = static_cast<uint64_t>(run.position + t);
      const size_t c = cell(w, t, run.row);
      for (int i = 0; i < I_; ++i) w.features[c * I_ + i] = static_cast<float>(rng::normal(seed_, in, p * I_ + i));
      for (int o = 0; o < O_; ++o)
        w.target_values[c * O_ + o] = static_cast<float>(rng::normal(seed_, out, p * O_ + o));
      w.has_target[c] = 1;
    }
  }

 private:
  int I_, O_;
};

}  // namespace

std::unique_ptr<Source> make_random_tokens(const SourceSpec& spec) { return std::make_unique<RandomTokens>(spec); }
std::unique_ptr<Source> make_random_regression(const SourceSpec& spec) {
  return std::make_unique<RandomRegression>(spec);
}

}  // namespace tbptt::data
