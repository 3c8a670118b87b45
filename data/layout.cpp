#include "data/layout.h"

#include "common/check.h"
#include "common/error.h"

namespace tbptt::data {

Layout::Layout(int64_t steps, int64_t sequence_length, int batch, int rank, int ranks, const std::string& batch_key)
    : sequence_length_(sequence_length), batch_(batch), rank_(rank), ranks_(ranks) {
  TBPTT_CHECK(ranks >= 1 && rank >= 0 && rank < ranks, "rank " + std::to_string(rank) + " of " + std::to_string(ranks));
  const std::string b = std::to_string(batch);
  if (batch < 1) throw ConfigError(batch_key, b, "an integer >= 1");
  if (batch % ranks != 0)
    throw ConfigError(batch_key, b, "a multiple of the ranks per run (" + std::to_string(ranks) + ")");
  if (sequence_length == 0) {
    if (steps < batch)
      throw ConfigError(batch_key, b, "at most " + std::to_string(steps) + " (the split's steps: one per row at least)");
    row_steps_ = steps / batch;
  } else {
    const int64_t sequences = steps / sequence_length;
    if (sequences < batch)
      throw ConfigError(batch_key, b,
                        "at most " + std::to_string(sequences) + " (the split's sequences of " +
                            std::to_string(sequence_length) + " steps: one per row at least)");
    row_steps_ = sequences / batch * sequence_length;
  }
}

}  // namespace tbptt::data
