#pragma once
// batchify and shard: which stream position row b reads at its step j.
//
// Streams (PyTorch word_language_model's batchify): N steps become B contiguous rows of
// R = floor(N / B) steps; the last N - B*R steps are trimmed. Each row is a continuous stream.
//
//                   j = 0      1       ...   R-1
//     row 0       [ 0          1       ...   R-1  ]  ┐ rank 0 of P = 2
//     row 1       [ R          R+1     ...   2R-1 ]  ┘
//     row 2       [ 2R         2R+1    ...   3R-1 ]  ┐ rank 1
//     row 3       [ 3R         3R+1    ...   4R-1 ]  ┘
//     (trimmed)     4R ... N-1
//
// Fixed-length tasks (sequence s = positions [s*L, (s+1)*L)): batch q holds sequences
// q*B .. q*B + B-1, one per row, so sequence s = q*B + b and a row is its sequences back to back:
//
//     row b, step j   ->   sequence s = (j / L)*B + b,  position s*L + j % L
//     R = floor(floor(N / L) / B) * L   (whole batches of whole sequences)
//
// Shard: rank r of P owns rows [r*B/P, (r+1)*B/P); all ranks read the same columns j, so the
// union of the shards is exactly the one-rank batch.

#include <cstdint>
#include <string>

namespace tbptt::data {

class Layout {
 public:
  // steps: N of the split; sequence_length: L of a fixed-length task, 0 for streams.
  // batch_key names the batch setting in errors ("train.batch" / "eval.batch"): B must divide by
  // P, and every row must get at least one step (one sequence for fixed-length tasks).
  Layout(int64_t steps, int64_t sequence_length, int batch, int rank, int ranks, const std::string& batch_key);

  int64_t row_steps() const { return row_steps_; }  // R
  int batch() const { return batch_; }              // B over all ranks
  int rows() const { return batch_ / ranks_; }      // rows of this rank's shard
  int first_row() const { return rows() * rank_; }  // global index of the shard's first row
  int64_t position(int row, int64_t j) const {      // row: global index
    if (sequence_length_ == 0) return row * row_steps_ + j;
    return ((j / sequence_length_) * batch_ + row) * sequence_length_ + j % sequence_length_;
  }

 private:
  int64_t sequence_length_;
  int batch_, rank_, ranks_;
  int64_t row_steps_;
};

}  // namespace tbptt::data
