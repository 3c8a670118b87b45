#pragma once
// Weights in the layouts oneDNN's primitives want, copied from the f32 parameters at most once
// per pass. A layer keeps one user view per weight tensor (a memory object whose handle it points
// at the parameters before each pass) and asks for a copy of it in each layout a primitive chose;
// copies of equal layout are shared (oneDNN picks the same for every shape of an LSTM, its
// reference GRU may not, e.g. inference vs training). set_stale() after the parameters changed.

#include <dnnl.hpp>
#include <memory>
#include <vector>

#include "engine/bound_primitive.h"

namespace tbptt::engine {

class WeightCopies {
 public:
  struct Copy {
    const dnnl::memory* user;  // the view it is copied from
    dnnl::memory mem;
    BoundPrimitive reorder;  // user -> mem
    bool stale = true;
  };

  explicit WeightCopies(const dnnl::engine& engine) : engine_(engine) {}

  Copy& of(const dnnl::memory& user, const dnnl::memory::desc& layout) {
    for (const auto& c : copies_)
      if (c->user == &user && c->mem.get_desc() == layout) return *c;
    auto c = std::make_unique<Copy>();
    c->user = &user;
    c->mem = dnnl::memory(layout, engine_);
    c->reorder =
        BoundPrimitive(dnnl::reorder(user, c->mem), {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, c->mem}});
    copies_.push_back(std::move(c));
    return *copies_.back();
  }

  void set_stale() {
    for (const auto& c : copies_) c->stale = true;
  }

  // Reorders `copy` if the parameters changed since it was made (nullptr: nothing to do).
  static void refresh(Copy* copy, dnnl::stream& s) {
    if (!copy || !copy->stale) return;
    copy->reorder.execute(s);
    copy->stale = false;
  }

  size_t bytes() const {
    size_t n = 0;
    for (const auto& c : copies_) n += c->mem.get_desc().get_size();
    return n;
  }

 private:
  dnnl::engine engine_;
  std::vector<std::unique_ptr<Copy>> copies_;  // stable addresses: shapes keep pointers
};

}  // namespace tbptt::engine
