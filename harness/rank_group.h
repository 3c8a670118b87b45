#pragma once
// The ranks that train one run together, and the one collective protocol they speak.
//
// Every round (an update, an evaluation) starts with the same tiny allreduce of kSums doubles:
// the round's sums and three flags (error, interrupt, stop). The flat-gradient allreduce follows
// only when no rank raised error or interrupt. A rank that throws anywhere calls fail() once,
// which is that same tiny allreduce with its error flag set: it lines up with whatever round its
// peers are in (they all wait in a tiny allreduce of identical size), so they learn of the
// failure instead of waiting forever, and every rank leaves the run together.
//
//   rank 0: ... update n: [sums|flags] ──ok──▶ [grads] ─▶ step ... update n+1: [sums|flags] ...
//   rank 1: ... update n: [sums|flags] ──ok──▶ [grads] ─▶ throws! ─▶ fail(): [0|error=1]
//                                                       peers see error=1 in round n+1 and stop

#include <mpi.h>

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

#include "engine/trainer.h"

namespace tbptt::harness {

// Thrown on every rank of a group whose round carried an error or interrupt flag.
class RunAborted : public std::runtime_error {
 public:
  RunAborted(bool interrupted, const std::string& what) : std::runtime_error(what), interrupted_(interrupted) {}
  bool interrupted() const { return interrupted_; }

 private:
  bool interrupted_;
};

class RankGroup : public engine::GradientReducer {
 public:
  static constexpr int kUserSums = 5;  // room for a round's own sums (loss, correct, targets, ...)

  explicit RankGroup(MPI_Comm comm);  // takes ownership (frees it)
  ~RankGroup() override;
  RankGroup(const RankGroup&) = delete;
  RankGroup& operator=(const RankGroup&) = delete;

  MPI_Comm comm() const { return comm_; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool leader() const { return rank_ == 0; }

  // One round: the sums and flags, then (unless a flag stopped the round) the element-wise sum of
  // `grads` over the ranks, in place. Throws RunAborted if any rank flagged error/interrupt.
  void allreduce_sum(std::span<float> grads, std::span<double> sums);
  // engine::GradientReducer: allreduce_sum of the whole gradient; every rank steps all of it.
  engine::Reduced reduce(std::span<float> grads, std::span<double> sums) override {
    allreduce_sum(grads, sums);
    return {{0, grads.size()}, std::nullopt};
  }
  // A round without gradients (evaluation sums).
  void sum(std::span<double> sums) { allreduce_sum({}, sums); }

  // Raise a flag for the next round: stop (finish this round, then leave), interrupt (signal).
  void request_stop() { stop_ = true; }
  void request_interrupt() { interrupt_ = true; }
  bool stop_agreed() const { return stop_agreed_; }  // some rank requested stop in the last round

  // After an exception on this rank: tell the peers (one flagged round) and leave the run.
  void fail();

  // Same parameters on every rank? One round over a 40-bit hash of the bytes.
  bool replicas_identical(std::span<const float> params);

  void reset_flags() { stop_ = interrupt_ = stop_agreed_ = false; }

 private:
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  bool stop_ = false, interrupt_ = false, stop_agreed_ = false;
};

}  // namespace tbptt::harness
