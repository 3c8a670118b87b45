#pragma once
// A 64-byte aligned array that only grows. Activation and workspace buffers are sized for
// the largest window seen so far; smaller windows use a prefix (time-major layouts keep every
// shape's data contiguous), so the steady state allocates nothing.

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <stdexcept>

namespace tbptt::engine {

template <class T>
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t n) { grow(n); }

  // Ensures room for n elements; growing discards the contents (they are rewritten every window).
  void grow(size_t n) {
    if (n <= size_) return;
    const size_t bytes = (n * sizeof(T) + 63) / 64 * 64;
    T* p = static_cast<T*>(std::aligned_alloc(64, bytes));
    if (!p) throw std::bad_alloc();
    data_.reset(p);
    size_ = n;
  }
  void zero() { std::memset(static_cast<void*>(data_.get()), 0, size_ * sizeof(T)); }

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T, Free> data_;
  size_t size_ = 0;
};

// A flat buffer of n elements: in `storage` when the caller provides one (the harness places the
// parameters, gradients and optimizer state of a data-parallel run in memory shared by the ranks
// of a node), else in `owned`, zero-filled.
template <class T>
std::span<T> place(std::span<T> storage, Buffer<T>& owned, size_t n) {
  if (!storage.empty()) {
    if (storage.size() != n) throw std::invalid_argument("provided storage has the wrong size");
    return storage;
  }
  if (n == 0) return {};  // plain SGD keeps no state
  owned.grow(n);
  owned.zero();
  return {owned.data(), n};
}

// One scratchpad shared by every oneDNN primitive of a model: they never run at the same time.
class Scratchpad {
 public:
  void* get(size_t bytes) {  // grows only when a new shape needs more
    buffer_.grow(bytes);
    return buffer_.data();
  }
  size_t bytes() const { return buffer_.size(); }

 private:
  Buffer<char> buffer_;
};

}  // namespace tbptt::engine
