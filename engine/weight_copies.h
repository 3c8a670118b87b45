#pragma once
// Weights in the layouts oneDNN's primitives want, copied from the f32 parameters at most once
// per pass. A layer keeps one user view per weight tensor (a memory object whose handle it points
// at the parameters before each pass) and asks for a copy of it in each layout a primitive chose;
// copies of equal layout are shared (oneDNN picks the same for every shape of an LSTM, its
// reference GRU may not, e.g. inference vs training). set_stale() after the parameters changed.
//
// How a copy is made: a 2-D f32 view (any strides, so a transpose too) into the layouts brgemm
// matmul picks on AVX-512 for its weights [K][N],
//
//   f32   BA16a64b     blocks of 16 K x 64 N, [16][64] inside, N-blocks outermost
//   bf16  BA16a64b2a   blocks of 32 K x 64 N, [16][64][2] inside (pairs of K side by side)
//   bf16  ab           plain row-major, rounded
//
// (K and N padded with zeros to whole blocks) is tbptt's own loop over the blocks on every
// thread; any other pair is a oneDNN reorder. The reorder (jit:uni) took 0.2-0.5 ms for one
// 256 x 1024 LSTM weight here, barely faster on 2 threads than 1; tests/engine/test_weight_copies.cpp
// holds the loop to the reorder's bytes.

#include <dnnl.hpp>
#include <memory>
#include <vector>

#include "engine/bound_primitive.h"

namespace tbptt::engine {

class WeightCopies {
 public:
  // A copy tbptt packs itself: K x N elements at strides (sk, sn) of the f32 view.
  struct Packing {
    enum Kind { none, f32_blocked, bf16_blocked, bf16_plain } kind = none;
    int64_t K = 0, N = 0, sk = 0, sn = 0;
  };
  struct Copy {
    const dnnl::memory* user;  // the view it is copied from
    dnnl::memory mem;
    Packing packing;           // kind none: the reorder below
    BoundPrimitive reorder;    // user -> mem
    bool stale = true;
  };

  explicit WeightCopies(const dnnl::engine& engine) : engine_(engine) {}

  Copy& of(const dnnl::memory& user, const dnnl::memory::desc& layout);
  void set_stale() {
    for (const auto& c : copies_) c->stale = true;
  }
  // Makes `copy` anew if the parameters changed since it was made (nullptr: nothing to do).
  static void refresh(Copy* copy, dnnl::stream& s);
  size_t bytes() const;

  // How `user` -> `layout` is packed without oneDNN (kind none: it is not).
  static Packing packing(const dnnl::memory::desc& user, const dnnl::memory::desc& layout);
  // dst (layout's size) <- src through `p`; exposed for the tests.
  static void pack(void* dst, const float* src, const Packing& p);

 private:
  dnnl::engine engine_;
  std::vector<std::unique_ptr<Copy>> copies_;  // stable addresses: shapes keep pointers
};

}  // namespace tbptt::engine
