// The steady state allocates nothing: after the first update of each window shape (which builds
// and caches primitives and grows buffers), further updates and evaluations make no heap
// allocation in tbptt's code.
//
// This binary replaces malloc & co. and every operator new with counting versions. Each
// allocation is attributed by its call site (the return address): inside this executable, which
// links the engine statically and inlines the oneDNN C++ API and the standard containers, it is
// ours; inside a shared library it is that library's. oneDNN 2.6 itself allocates on every
// execute (it converts the argument list into an std::unordered_map, and its sgemm mallocs its
// packing buffers): those are counted and reported, but only ours must be zero.

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <new>
#include <string>

#include "common/counter_rng.h"
#include "engine/trainer.h"

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
extern char __executable_start;
extern char etext;
}

namespace {

constexpr int kSites = 4096;
std::atomic<bool> counting{false};
std::atomic<long> ours{0}, theirs{0};
std::atomic<int> n_sites{0};
void* sites[kSites];  // call sites of the first allocations seen while counting

void note(void* caller) {
  if (!counting.load(std::memory_order_relaxed)) return;
  const auto* at = static_cast<const char*>(caller);
  (at >= &__executable_start && at < &etext ? ours : theirs).fetch_add(1, std::memory_order_relaxed);
  const int i = n_sites.fetch_add(1, std::memory_order_relaxed);
  if (i < kSites) sites[i] = caller;
}

void* checked(void* p) {
  if (!p) throw std::bad_alloc();
  return p;
}

}  // namespace

// The C allocation functions, forwarded to glibc's own.
extern "C" {
void* malloc(size_t n) {
  note(__builtin_return_address(0));
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) {
  note(__builtin_return_address(0));
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
  note(__builtin_return_address(0));
  return __libc_realloc(p, n);
}
void* aligned_alloc(size_t alignment, size_t n) {
  note(__builtin_return_address(0));
  return __libc_memalign(alignment, n);
}
void* memalign(size_t alignment, size_t n) {
  note(__builtin_return_address(0));
  return __libc_memalign(alignment, n);
}
int posix_memalign(void** out, size_t alignment, size_t n) {
  note(__builtin_return_address(0));
  *out = __libc_memalign(alignment, n);
  return *out ? 0 : ENOMEM;
}
void free(void* p) { __libc_free(p); }
}

// Every operator new, so the call site is the code that wanted the memory, not libstdc++.
void* operator new(size_t n) {
  note(__builtin_return_address(0));
  return checked(__libc_malloc(n));
}
void* operator new[](size_t n) {
  note(__builtin_return_address(0));
  return checked(__libc_malloc(n));
}
void* operator new(size_t n, std::align_val_t a) {
  note(__builtin_return_address(0));
  return checked(__libc_memalign(static_cast<size_t>(a), n));
}
void* operator new[](size_t n, std::align_val_t a) {
  note(__builtin_return_address(0));
  return checked(__libc_memalign(static_cast<size_t>(a), n));
}
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  note(__builtin_return_address(0));
  return __libc_malloc(n);
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  note(__builtin_return_address(0));
  return __libc_malloc(n);
}
void operator delete(void* p) noexcept { __libc_free(p); }
void operator delete[](void* p) noexcept { __libc_free(p); }
void operator delete(void* p, size_t) noexcept { __libc_free(p); }
void operator delete[](void* p, size_t) noexcept { __libc_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { __libc_free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { __libc_free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { __libc_free(p); }

namespace tbptt::engine::testing {
namespace {

// "libdnnl.so.2(+0x1234)" or "test_allocations(tbptt::engine::Model::reserve+0x56)" per site.
std::string describe_sites() {
  std::map<std::string, int> seen;
  for (int i = 0; i < std::min(n_sites.load(), kSites); ++i) {
    Dl_info info{};
    std::string where = "?";
    if (dladdr(sites[i], &info) && info.dli_fname) {
      where = info.dli_fname;
      where = where.substr(where.rfind('/') + 1);
      if (info.dli_sname) where += std::string(" ") + info.dli_sname;
    }
    ++seen[where];
  }
  std::string s;
  for (const auto& [where, n] : seen) s += "  " + std::to_string(n) + "x " + where + "\n";
  return s;
}

struct Counts {
  long ours, theirs;
};

template <class F>
Counts count(F f) {
  ours = 0, theirs = 0, n_sites = 0;
  counting = true;
  f();
  counting = false;
  return {ours.load(), theirs.load()};
}

// A window of random ids or features, with a target on every step.
struct Window {
  std::vector<int32_t> x, y;
  std::vector<float> f, v;
  std::vector<uint8_t> has;
  WindowBatch view;
  Window(const ModelConfig& m, int T, int B, int new_from, int carry_from, uint64_t seed)
      : has(static_cast<size_t>(T) * B, 1) {
    const size_t TB = has.size();
    if (m.token_input()) {
      for (size_t i = 0; i < TB; ++i) x.push_back(static_cast<int32_t>(rng::below(m.vocab, seed, 1, i)));
    } else {
      for (size_t i = 0; i < TB * m.input; ++i) f.push_back(static_cast<float>(rng::normal(seed, 2, i)));
    }
    if (m.loss == Loss::cross_entropy) {
      for (size_t i = 0; i < TB; ++i) y.push_back(static_cast<int32_t>(rng::below(m.outputs, seed, 3, i)));
    } else {
      for (size_t i = 0; i < TB * m.outputs; ++i) v.push_back(static_cast<float>(rng::normal(seed, 4, i)));
    }
    view = WindowBatch{T, B, new_from, carry_from, false, x.empty() ? nullptr : x.data(),
                       f.empty() ? nullptr : f.data(), y.empty() ? nullptr : y.data(),
                       v.empty() ? nullptr : v.data(), has.data()};
  }
};

struct Case {
  const char* name;
  ModelConfig model;
  double clip;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  for (Precision p : {Precision::f32, Precision::bf16}) {
    if (p == Precision::bf16 && !cpu_supports_bf16()) continue;
    ModelConfig lm;  // a token LM, 2 layers, large enough for every parallel loop to use its team
    lm.layers = 2, lm.hidden = 64, lm.vocab = 2000, lm.embedding = 32, lm.outputs = 2000, lm.precision = p;
    out.push_back({"lstm_lm", lm, 0.0});
    ModelConfig reg;  // the seed regressor's shape: dense inputs, last-step MSE head, GRU
    reg.cell = Cell::gru, reg.hidden = 32, reg.input = 10, reg.outputs = 1, reg.head = Head::last_step;
    reg.loss = Loss::mse, reg.precision = p;
    out.push_back({"gru_regressor", reg, 1.0});
    ModelConfig rnn = lm;
    rnn.cell = Cell::rnn_tanh, rnn.layers = 1;
    out.push_back({"rnn_lm", rnn, 1.0});
  }
  return out;
}

// Three shapes, as a run has them: overlapping training windows (T = 12, k1 = 4: chunked), the
// short last window of an epoch (T = 7), and evaluation windows of another batch (B = 5).
TEST(Allocations, NoneInTheSteadyState) {
  for (const Case& c : cases()) {
    for (int threads : {1, omp_get_num_procs()}) {
      omp_set_num_threads(threads);
      Model model(c.model, 1);
      TrainerConfig tc;
      tc.clip_grad_norm = c.clip;
      TruncatedTrainer trainer(model, tc, 8);
      Window train(c.model, 12, 8, 8, 4, 1), last(c.model, 7, 8, 0, 7, 2), eval(c.model, 10, 5, 0, 10, 3);
      RecurrentState eval_state = model.make_state(5);
      auto round = [&] {
        trainer.update(train.view);
        trainer.update(last.view);
        evaluate_window(model, eval_state, eval.view);
      };
      const Counts first = count(round);  // builds every shape
      const Counts steady = count([&] {
        for (int i = 0; i < 3; ++i) round();
      });
      const std::string where = describe_sites();
      EXPECT_GT(first.ours, 0) << "the hook must see the first round's allocations";
      EXPECT_EQ(steady.ours, 0) << c.name << " " << engine::name(c.model.precision) << ", " << threads
                                << " thread(s): allocations in tbptt's code after warm-up, at\n" << where;
      std::printf("%s %s, %d thread(s): first round %ld ours + %ld oneDNN/runtime; steady state %ld ours + %ld "
                  "oneDNN/runtime per round\n%s",
                  c.name, engine::name(c.model.precision), threads, first.ours, first.theirs, steady.ours / 3,
                  steady.theirs / 3, where.c_str());
    }
  }
  omp_set_num_threads(omp_get_num_procs());
}

}  // namespace
}  // namespace tbptt::engine::testing
