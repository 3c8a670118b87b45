#pragma once
// Checkpoints: everything a run needs to continue exactly where it stopped.
//
//   parameters        state_dict under PyTorch names and shapes (import(export(p)) is bit-exact)
//   optimizer         its flat moment buffers, and its step count
//   schedule          learning rate, best validation loss, evaluations without improvement
//   carried state     h (and c) of every layer, [L][B][H] over ALL rows of the run
//   data cursor       epoch and window of the next update; updates and tokens done
//
// The carried state is the only per-rank piece: each rank owns rows [r*B/P, (r+1)*B/P), so
// saving gathers the shards to the group's leader and loading takes each rank's rows back.

#include <cstdint>

#include "data/window.h"
#include "engine/trainer.h"
#include "harness/rank_group.h"
#include "results/schema.h"

namespace tbptt::harness {

struct Progress {
  data::Cursor cursor;  // the next window to train on
  int64_t updates = 0, tokens = 0;
};

// Collective over the group; the result is complete on the leader only.
results::Checkpoint gather_checkpoint(engine::TruncatedTrainer& trainer, const engine::RecurrentState& state,
                                      const Progress& progress, RankGroup& group);

// Every rank restores from the same checkpoint (each reads its own rows of the carried state).
Progress restore_checkpoint(engine::TruncatedTrainer& trainer, const results::Checkpoint& checkpoint,
                            const RankGroup& group);

}  // namespace tbptt::harness
