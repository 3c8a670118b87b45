#pragma once
// Synthetic tasks whose targets need memory of a known span, so the truncation k2 that can learn
// them is known in advance.
//
// delayed_recall (stream): input x[p] uniform in [0, A); the target of step p is x[p - lag],
//   present only once `lag` steps of the current sequence have passed (state is reset at a
//   sequence start, so earlier inputs are out of reach).
//
// adding (fixed length L, Hochreiter & Schmidhuber 1997, in the two-halves form of Le et al. 2015):
//   step t of sequence s has input (v, m): v uniform in [0, 1), m = 1 at exactly two steps, one
//   uniform in [0, L/2), one uniform in [L/2, L), else 0. Only step L-1 has a target: the float
//   sum of the two marked v. Predicting 1 always gives MSE 1/6 ≈ 0.167.
//
// copy (fixed length L = 2C + D + 1, C = copy_length, D = delay; symbols 0..A-1, blank A, go A+1):
//
//   step t    0 .. C-1        C .. C+D-1     C+D        C+D+1 .. 2C+D
//   input     s_0 .. s_{C-1}  blank          go         blank
//   target    none            none           none       s_0 .. s_{C-1}
//
//   Inputs are A+2 ids, targets A classes; only the C recall steps carry targets.
//
// Fixed-length tasks number their sequences: step t of sequence s is stream position s*L + t, and
// every random number of sequence s is keyed by s, so a sequence is the same whatever B or rank.

#include <memory>

#include "data/source.h"

namespace tbptt::data {

std::unique_ptr<Source> make_delayed_recall(const SourceSpec& spec);
std::unique_ptr<Source> make_adding(const SourceSpec& spec);
std::unique_ptr<Source> make_copy(const SourceSpec& spec);

}  // namespace tbptt::data
