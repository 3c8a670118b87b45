#include "harness/shared_step.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "common/check.h"
#include "engine/optimizer.h"

namespace tbptt::harness {
namespace {

constexpr size_t kAlign = 16;  // floats: every buffer and shard starts on a 64-byte line
size_t round_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

bool all_ranks(bool mine, MPI_Comm comm) {
  int ok = mine ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, comm);
  return ok == 1;
}

bool on_one_node(MPI_Comm comm, int size) {
  MPI_Comm node;
  MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int node_size = 0;
  MPI_Comm_size(node, &node_size);
  MPI_Comm_free(&node);
  return node_size == size;
}

// Test hook: TBPTT_FAULT_NO_SHM=r makes rank r of every group fail to get the segment, as when the
// memory limit refuses its pages (rank 0) or a rank may not open another's files (rank r > 0).
bool fault_no_shm(MPI_Comm comm) {
  const char* r = std::getenv("TBPTT_FAULT_NO_SHM");
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  return r && std::atoi(r) == rank;
}

// The first rank's (lowest) reason for failing, on rank 0 of comm; collective.
std::string first_error(MPI_Comm comm, const std::string& mine) {
  constexpr int kLength = 256;
  char text[kLength] = {};
  mine.copy(text, kLength - 1);
  int size = 1;
  MPI_Comm_size(comm, &size);
  std::vector<char> all(static_cast<size_t>(size) * kLength);
  MPI_Gather(text, kLength, MPI_CHAR, all.data(), kLength, MPI_CHAR, 0, comm);
  for (int r = 0; r < size; ++r)
    if (const char* why = &all[static_cast<size_t>(r) * kLength]; *why) return "rank " + std::to_string(r) + ": " + why;
  return "a rank could not map it";
}

// The segment has no name, so nothing can be left behind, whenever a rank dies:
//   1. the leader creates an anonymous memory file (memfd: in RAM, never in /dev/shm, so a small
//      /dev/shm, such as Docker's 64 MB, does not limit it) and reserves its pages: a memory limit
//      fails here, not as a SIGBUS mid-run;
//   2. the other ranks open the leader's descriptor through /proc/<pid>/fd/<fd> (same node, same
//      user: the ranks of one run);
//   3. every rank maps it and closes its descriptor, once all have opened it. The kernel frees the
//      pages with the last mapping, also when a rank is killed.
// If some rank cannot, every rank gets nullptr and the leader the first failing rank's reason.
void* map_segment(MPI_Comm comm, bool leader, size_t bytes, std::string& error) {
  const bool fault = fault_no_shm(comm);
  int where[2] = {static_cast<int>(getpid()), -1};  // the leader's pid and descriptor; -1: none
  int fd = -1;
  if (leader) {
    fd = fault ? (errno = ENOSPC, -1) : memfd_create("tbptt-shared-step", MFD_CLOEXEC);
    const int rc = fd < 0 ? errno : posix_fallocate(fd, 0, static_cast<off_t>(bytes));
    if (rc != 0) {
      const double kib = static_cast<double>(bytes) / 1024;
      error = (kib < 1024 ? fmt::format("{:.1f} KiB", kib) : fmt::format("{:.1f} MiB", kib / 1024)) +
              " of shared memory: " + std::strerror(rc);
      if (fd >= 0) close(fd), fd = -1;
    }
    where[1] = fd;
  }
  MPI_Bcast(where, 2, MPI_INT, 0, comm);
  if (!leader && where[1] >= 0) {
    const std::string path = "/proc/" + std::to_string(where[0]) + "/fd/" + std::to_string(where[1]);
    fd = fault ? (errno = EACCES, -1) : open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) error = path + ": " + std::strerror(errno);
  }
  void* base = MAP_FAILED;
  if (fd >= 0) {
    base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) error = "mmap of the shared memory: " + std::string(std::strerror(errno));
  }
  const bool mapped = all_ranks(base != MAP_FAILED, comm);  // after it, no rank opens the leader's descriptor
  if (fd >= 0) close(fd);
  if (mapped) return base;
  if (base != MAP_FAILED) munmap(base, bytes);
  error = first_error(comm, error);
  return nullptr;
}

}  // namespace

std::unique_ptr<SharedStep> SharedStep::create(RankGroup& group, size_t params, size_t optimizer_state) {
  const int P = group.size();
  if (P == 1) return nullptr;
  const char* opt_out = std::getenv("TBPTT_SHARED_STEP");
  const bool wanted = !(opt_out && std::string(opt_out) == "0") && on_one_node(group.comm(), P);
  if (!all_ranks(wanted, group.comm())) return nullptr;
  const size_t bytes = sizeof(float) * (round_up(params) + round_up(optimizer_state) + P * round_up(params));
  std::string error;
  void* base = map_segment(group.comm(), group.leader(), bytes, error);
  if (!base) {
    if (group.leader())
      std::cerr << "tbptt: no shared memory for the data-parallel step (" << error
                << "); the ranks average their gradients with MPI_Allreduce instead\n";
    return nullptr;
  }
  return std::unique_ptr<SharedStep>(new SharedStep(group, base, bytes, params, optimizer_state));
}

SharedStep::SharedStep(RankGroup& group, void* base, size_t bytes, size_t params, size_t optimizer_state)
    : group_(group), base_(base), bytes_(bytes), partials_(static_cast<size_t>(group.size())) {
  float* at = static_cast<float*>(base);
  params_ = {at, params};
  at += round_up(params);
  state_ = {at, optimizer_state};
  at += round_up(optimizer_state);
  const auto P = static_cast<size_t>(group.size());
  for (size_t r = 0; r < P; ++r, at += round_up(params)) {
    grads_.emplace_back(at, params);
    replicas_.push_back(at);
  }
  for (size_t r = 0; r < P; ++r) {
    const size_t begin = r == 0 ? 0 : params * r / P / kAlign * kAlign;
    const size_t end = r + 1 == P ? params : params * (r + 1) / P / kAlign * kAlign;
    shards_.push_back({begin, std::max(begin, end)});
  }
}

SharedStep::~SharedStep() { munmap(base_, bytes_); }

engine::Reduced SharedStep::reduce(std::span<float> grads, std::span<double> sums) {
  const auto rank = static_cast<size_t>(group_.rank());
  TBPTT_CHECK(grads.data() == grads_[rank].data(), "the trainer's gradient must be this rank's shared buffer");
  // The round publishes this rank's gradient and returns once every rank's is written (x86 keeps
  // stores in order; the fence keeps the compiler from moving them past the call).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  group_.sum(sums);
  return {shards_[rank], engine::sum_replicas(grads.data(), replicas_, shards_[rank])};
}

double SharedStep::sum_over_shards(double x) {
  MPI_Allgather(&x, 1, MPI_DOUBLE, partials_.data(), 1, MPI_DOUBLE, group_.comm());
  double total = 0;
  for (double v : partials_) total += v;  // rank order, so every rank gets the same bits
  return total;
}

void SharedStep::step_done() {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  MPI_Barrier(group_.comm());
}

void SharedStep::gather_gradient(std::span<float> out) {
  if (group_.leader()) {
    TBPTT_CHECK(out.size() == params_.size(), "gather_gradient needs the whole gradient's size");
    for (size_t r = 0; r < grads_.size(); ++r)
      std::copy_n(grads_[r].begin() + static_cast<std::ptrdiff_t>(shards_[r].begin), shards_[r].size(),
                  out.begin() + static_cast<std::ptrdiff_t>(shards_[r].begin));
  }
  MPI_Barrier(group_.comm());
}

Replica make_replica(RankGroup& group, const engine::ModelConfig& model, uint64_t seed, const engine::TrainerConfig& trainer,
                     int rows) {
  Replica r;
  const size_t n = engine::ParamLayout(model).size();
  r.shared = SharedStep::create(group, n, engine::Optimizer::state_size(trainer.optimizer, n));
  r.model = std::make_unique<engine::Model>(model, seed, r.shared ? r.shared->params() : std::span<float>{});
  if (r.shared)
    r.trainer = std::make_unique<engine::TruncatedTrainer>(*r.model, trainer, rows, r.shared.get(), r.shared->trainer_storage());
  else
    r.trainer = std::make_unique<engine::TruncatedTrainer>(*r.model, trainer, rows, &group);
  return r;
}

}  // namespace tbptt::harness
