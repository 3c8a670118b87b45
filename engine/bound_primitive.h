#pragma once
// A oneDNN primitive with its arguments bound once. dnnl::primitive::execute(stream, map) builds
// an std::vector of C arguments on every call; executing through the C API with an argument array
// kept alongside allocates nothing in tbptt. (oneDNN 2.6 itself still allocates inside every
// execute: tests/engine/test_allocations.cpp counts and reports it separately.) Point the bound
// memory objects at new buffers with set_data_handle between executes.

#include <dnnl.hpp>
#include <unordered_map>
#include <vector>

#include "common/check.h"

namespace tbptt::engine {

// Points a bound memory object at a buffer before the next execute (oneDNN takes a non-const
// handle even for inputs it only reads).
inline void set_handle(const dnnl::memory& m, const void* p) { m.set_data_handle(const_cast<void*>(p)); }

class BoundPrimitive {
 public:
  BoundPrimitive() = default;
  BoundPrimitive(dnnl::primitive primitive, const std::unordered_map<int, dnnl::memory>& args)
      : primitive_(std::move(primitive)) {
    for (const auto& [arg, mem] : args) {
      kept_.push_back(mem);
      args_.push_back({arg, mem.get()});
    }
  }

  explicit operator bool() const { return static_cast<bool>(primitive_); }

  void execute(const dnnl::stream& s) const {
    const dnnl_status_t status = run(s);
    TBPTT_CHECK(status == dnnl_success, "a oneDNN primitive failed to execute (status " + std::to_string(status) + ")");
  }
  // Inside a parallel region, which an exception must not leave: false if it failed.
  bool try_execute(const dnnl::stream& s) const noexcept { return run(s) == dnnl_success; }

 private:
  dnnl_status_t run(const dnnl::stream& s) const noexcept {
    return dnnl_primitive_execute(primitive_.get(), s.get(), static_cast<int>(args_.size()), args_.data());
  }

  dnnl::primitive primitive_;
  std::vector<dnnl::memory> kept_;  // owners of the handles in args_
  std::vector<dnnl_exec_arg_t> args_;
};

}  // namespace tbptt::engine
