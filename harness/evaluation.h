#pragma once
// Evaluation: the loss of a model over a whole split, the one protocol used by training runs,
// by `tbptt eval` and (re-implemented in Python) by results/to_pytorch.py:
//
//   the split's token/step stream is batchified into eval.batch rows (data/README.md: contiguous
//   rows, the remainder trimmed), walked in windows of eval.window steps (tbptt.k1 for last_step
//   heads) with the state carried from window to window and reset at every sequence start
//   (tbptt.seq_len); the loss is the mean over every target the head sees, so the window length
//   changes nothing for every-step heads.
// Rows are sharded over the group's ranks when eval.batch divides evenly (the sums are then
// added in one round), otherwise every rank evaluates every row.

#include "data/dataset.h"
#include "engine/model.h"
#include "harness/rank_group.h"
#include "harness/run_settings.h"
#include "results/schema.h"

namespace tbptt::harness {

// update / epoch of the row are left to the caller. group == nullptr: one process.
results::EvalRow evaluate_split(engine::Model& model, const data::Dataset& dataset, const RunSettings& settings,
                                data::Split split, RankGroup* group);

// The engine's view of a data window (pointers into w, which must outlive the view).
engine::WindowBatch view(const data::Window& w);

}  // namespace tbptt::harness
