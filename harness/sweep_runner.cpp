#include "harness/sweep_runner.h"

#include <fmt/format.h>
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <thread>

#include "harness/config/experiment.h"
#include "harness/plan.h"
#include "harness/run_executor.h"
#include "harness/run_queue.h"
#include "harness/sweep_progress.h"
#include "results/schema.h"
#include "results/sweep_index.h"
#include "results/writer_lock.h"

namespace tbptt::harness {
namespace {

std::atomic<bool> g_interrupted{false};
std::atomic<bool> g_output_failed{false};  // a run could not write its results: start nothing new
extern "C" void on_stop_signal(int) { g_interrupted.store(true); }

}  // namespace

// SIGINT and SIGTERM never interrupt a thread here: oneDNN 2.6's JIT f32 GEMM kernels point rsp
// into the heap while they run (oneDNN issue #4845, fixed in 3.11.2), so the kernel would push a
// signal frame -- registers full of floats -- over whatever the heap holds there. We saw exactly
// that: an interrupted run aborted later in H5Fclose with "corrupted size vs. prev_size" and four
// floats over a malloc header (AVX-512 GEMMs only, about one interrupt in fifteen under load).
// So both signals are blocked in this thread before any other exists (MPI's and OpenMP's threads
// inherit the mask), and one thread that computes nothing takes them synchronously with sigwait:
// no signal frame on a computing thread, no system call cut short (HDF5, Open MPI and iostreams
// never see EINTR).
void catch_stop_signals() {
  // A handler as well, for a thread some library might unblock them in: such a thread runs no
  // GEMM, and without a handler the signal would kill the process there.
  struct sigaction action = {};
  action.sa_handler = on_stop_signal;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  std::thread([stop] {
    for (int signal = 0;;)
      if (sigwait(&stop, &signal) == 0) g_interrupted.store(true);
  }).detach();
}

namespace {

// --- small MPI helpers ---------------------------------------------------------------------

void broadcast(std::string& s, MPI_Comm comm) {
  int64_t n = static_cast<int64_t>(s.size());
  MPI_Bcast(&n, 1, MPI_INT64_T, 0, comm);
  s.resize(static_cast<size_t>(n));
  MPI_Bcast(s.data(), static_cast<int>(n), MPI_CHAR, 0, comm);
}

void broadcast(std::vector<int64_t>& v, MPI_Comm comm) {
  int64_t n = static_cast<int64_t>(v.size());
  MPI_Bcast(&n, 1, MPI_INT64_T, 0, comm);
  v.resize(static_cast<size_t>(n));
  MPI_Bcast(v.data(), static_cast<int>(n), MPI_INT64_T, 0, comm);
}

// --- what group leaders tell world rank 0 ----------------------------------------------------
// A message is 6 doubles (position, status, seconds, final valid loss, final train loss,
// updates) followed by the error text; its tag says what happened.

enum Tag { kStarted = 1, kFinished = 2, kGroupDone = 3 };

struct Message {
  int tag = 0;
  size_t position = 0;
  RunResult result;
};

std::vector<char> pack(size_t position, const RunResult& r) {
  const double head[6] = {static_cast<double>(position), static_cast<double>(r.status), r.seconds, r.final_valid_loss,
                          r.final_train_loss, static_cast<double>(r.updates)};
  std::vector<char> bytes(sizeof head + r.error.size());
  std::memcpy(bytes.data(), head, sizeof head);
  std::memcpy(bytes.data() + sizeof head, r.error.data(), r.error.size());
  return bytes;
}

Message unpack(int tag, const std::vector<char>& bytes) {
  double head[6];
  std::memcpy(head, bytes.data(), sizeof head);
  Message m{tag, static_cast<size_t>(head[0]), {}};
  m.result = {static_cast<results::RunStatus>(head[1]), std::string(bytes.data() + sizeof head, bytes.size() - sizeof head),
              head[4], head[3], head[2], static_cast<int64_t>(head[5])};
  return m;
}

// World rank 0's side: it runs a group's runs too, so it listens between updates.
class Reporter {
 public:
  Reporter(MPI_Comm comm, SweepProgress* progress) : comm_(comm), progress_(progress) {
    MPI_Comm_rank(comm_, &rank_);
  }

  void send(int tag, size_t position, const RunResult& r = {}) {
    if (rank_ == 0) return handle({tag, position, r});
    const std::vector<char> bytes = pack(position, r);
    MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_CHAR, 0, tag, comm_);
  }

  void poll() {  // rank 0: handle whatever has arrived
    int flag = 1;
    while (flag) {
      MPI_Status st;
      MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm_, &flag, &st);
      if (flag) receive(st);
    }
  }

  void wait_for_groups(int groups) {  // rank 0: until every group of the phase said it is done
    while (groups_done_ < groups) {
      MPI_Status st;
      MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm_, &st);
      receive(st);
    }
    groups_done_ = 0;
  }

 private:
  void receive(const MPI_Status& st) {
    int n = 0;
    MPI_Get_count(&st, MPI_CHAR, &n);
    std::vector<char> bytes(static_cast<size_t>(n));
    MPI_Recv(bytes.data(), n, MPI_CHAR, st.MPI_SOURCE, st.MPI_TAG, comm_, MPI_STATUS_IGNORE);
    handle(unpack(st.MPI_TAG, bytes));
  }

  void handle(const Message& m) {
    if (m.tag == kGroupDone) ++groups_done_;
    if (!progress_) return;
    if (m.tag == kStarted) progress_->started(m.position);
    if (m.tag == kFinished) progress_->finished(m.position, m.result);
  }

  MPI_Comm comm_;
  SweepProgress* progress_;
  int rank_ = 0, groups_done_ = 0;
};

// --- the output folder -------------------------------------------------------------------------

struct Preflight {
  int status = 0;                  // 0 go, 2 refuse
  std::string message;             // why not, or what was found
  std::vector<int64_t> todo;       // plan positions still to run
};

bool is_final(const std::string& status) { return status == "completed" || status == "diverged"; }

Preflight check_output(const RunCommand& cmd, const Experiment& exp, const std::vector<PlannedRun>& plan, int world) {
  namespace fs = std::filesystem;
  Preflight p;
  for (const PlannedRun& r : plan)
    if (r.ranks_per_run > world) {
      p.status = 2;
      p.message = fmt::format("{}: run #{} needs parallel.ranks_per_run = {} ranks; this job has {} (mpirun -np {})",
                              exp.locate("parallel.ranks_per_run"), r.index, r.ranks_per_run, world, r.ranks_per_run);
      return p;
    }
  const fs::path index = results::index_file(cmd.out_dir, exp.name());
  const fs::path runs = results::runs_dir(cmd.out_dir, exp.name());
  std::error_code ec;
  const bool exists = fs::exists(index, ec) || (fs::exists(runs, ec) && !fs::is_empty(runs, ec));
  if (exists && !cmd.resume && !cmd.overwrite) {
    p.status = 2;
    p.message = fmt::format("{} already has results of experiment '{}': pass --resume to continue them or --overwrite "
                            "to replace them",
                            (exists && fs::exists(index, ec) ? index : runs).string(), exp.name());
    return p;
  }
  const fs::path parent = fs::absolute(cmd.out_dir).parent_path();
  if (!fs::is_directory(cmd.out_dir, ec) && !fs::is_directory(parent, ec)) {
    p.status = 2;
    p.message = fmt::format("cannot write results under {}: its parent folder {} does not exist", cmd.out_dir.string(),
                            parent.string());
    return p;
  }
  if (cmd.overwrite) {
    fs::remove(index, ec);
    fs::remove_all(runs.parent_path(), ec);
  }
  fs::create_directories(runs, ec);
  const fs::path probe = runs / ".tbptt-write-probe";
  if (ec || !std::ofstream(probe).good()) {
    p.status = 2;
    p.message = fmt::format("cannot write results under {}: {}", runs.string(), ec ? ec.message() : "permission denied");
    return p;
  }
  fs::remove(probe, ec);
  std::set<std::string> done;
  if (cmd.resume) {
    for (const results::RunSummary& r : results::rebuild_index(cmd.out_dir, exp.name()).runs) {
      if (!is_final(r.status) || !r.file.ends_with(".h5")) continue;
      done.insert(r.run_id);
      // A kill between publishing <run_id>.h5 and removing its lock file leaves the lock behind,
      // held by nobody; the run is done, so no writer of it would ever remove it.
      const fs::path lock = results::lock_file(cmd.out_dir / r.file);
      if (fs::exists(lock, ec) && !results::WriterLock::held(lock)) fs::remove(lock, ec);
    }
    p.message = fmt::format("resuming: {} of {} runs already done", done.size(), plan.size());
  }
  for (size_t i = 0; i < plan.size(); ++i)
    if (!done.count(plan[i].run_id)) p.todo.push_back(static_cast<int64_t>(i));
  return p;
}

// --- phases --------------------------------------------------------------------------------------

// Runs of one ranks_per_run value, largest planned cost first (ties in sweep order).
std::vector<size_t> phase_order(const std::vector<PlannedRun>& plan, const std::vector<int64_t>& todo, int ranks) {
  std::vector<size_t> order;
  for (int64_t p : todo)
    if (plan[static_cast<size_t>(p)].ranks_per_run == ranks) order.push_back(static_cast<size_t>(p));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return plan[a].cost > plan[b].cost; });
  return order;
}

void run_phase(const Experiment& exp, const std::vector<PlannedRun>& plan, const std::vector<size_t>& order, int ranks,
               const RunCommand& cmd, Reporter& reporter, SweepProgress* progress) {
  int rank = 0, world = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  const int groups = world / ranks;
  if (rank == 0 && groups * ranks < world)
    std::cerr << fmt::format("tbptt: warning: {} rank(s) idle while runs with parallel.ranks_per_run = {} execute\n",
                             world - groups * ranks, ranks);
  MPI_Comm comm = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, rank < groups * ranks ? rank / ranks : MPI_UNDEFINED, rank, &comm);
  RunQueue queue(MPI_COMM_WORLD, static_cast<int64_t>(order.size()));
  if (comm != MPI_COMM_NULL) {
    RankGroup group(comm);
    RunEnvironment env{cmd.out_dir, exp.name(), cmd.resume, cmd.overwrite, {}, &g_interrupted};
    if (rank == 0)
      env.tick = [&](const RunTick& t) {
        reporter.poll();
        progress->tick(t);
      };
    for (int64_t k; (k = queue.next(group, g_interrupted.load() || g_output_failed.load())) >= 0;) {
      const size_t position = order[static_cast<size_t>(k)];
      if (group.leader()) reporter.send(kStarted, position);
      const RunResult result = execute_run(exp.run(plan[position].index), group, env);
      if (result.output_failed) g_output_failed = true;
      if (group.leader()) reporter.send(kFinished, position, result);
    }
    if (group.leader()) reporter.send(kGroupDone, 0);
  }
  if (rank == 0) reporter.wait_for_groups(groups);
  // Every rank learns whether some rank saw a signal or a write failure: the next phase starts
  // nothing, and rank 0 says why the sweep stopped.
  int flags[2] = {g_interrupted.load(), g_output_failed.load()};
  MPI_Allreduce(MPI_IN_PLACE, flags, 2, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (flags[0]) g_interrupted = true;
  if (flags[1]) g_output_failed = true;
}

}  // namespace

bool results_unwritable() { return g_output_failed.load(); }

int launcher_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"})
    if (const char* value = std::getenv(name)) return std::atoi(value);
  return 0;
}

PreparedSweep prepare_sweep(const RunCommand& cmd) {
  Experiment exp = Experiment::load(cmd.experiment, cmd.sets);
  std::vector<PlannedRun> plan = plan_runs(exp);
  return {std::move(exp), std::move(plan)};
}

int run_sweep(const RunCommand& cmd, const PreparedSweep& sweep) {
  int rank = 0, world = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  const Experiment* exp = &sweep.experiment;
  const std::vector<PlannedRun>& plan = sweep.plan;

  // 2. The output folder (rank 0), and what is left to do.
  Preflight pre;
  if (rank == 0) pre = check_output(cmd, *exp, plan, world);
  MPI_Bcast(&pre.status, 1, MPI_INT, 0, MPI_COMM_WORLD);
  broadcast(pre.message, MPI_COMM_WORLD);
  broadcast(pre.todo, MPI_COMM_WORLD);
  if (pre.status != 0) {
    if (rank == 0) std::cerr << "tbptt: " << pre.message << "\n";
    return pre.status;
  }
  const auto index = results::index_file(cmd.out_dir, exp->name());
  if (rank == 0) {
    std::cout << fmt::format("tbptt: {}: {} run{} on {} rank{} -> {}\n", exp->name(), pre.todo.size(),
                             pre.todo.size() == 1 ? "" : "s", world, world == 1 ? "" : "s", index.string());
    if (!pre.message.empty()) std::cout << "tbptt: " << pre.message << "\n";
    for (const auto& s : exp->skipped()) std::cout << "tbptt: skipped: " << s.reason << "\n";
    std::cout << std::flush;
  }

  // 3. One phase per ranks_per_run value; groups draw runs, rank 0 reports.
  MPI_Comm messages;
  MPI_Comm_dup(MPI_COMM_WORLD, &messages);
  std::optional<SweepProgress> progress;
  const bool under_mpirun = std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMIX_RANK") || std::getenv("PMI_RANK");
  const bool bar = cmd.progress == "bar" || (cmd.progress == "auto" && isatty(STDOUT_FILENO) && !under_mpirun);
  if (rank == 0) progress.emplace(plan, std::vector<size_t>(pre.todo.begin(), pre.todo.end()), std::cout, bar);
  Reporter reporter(messages, progress ? &*progress : nullptr);
  std::set<int> phases;
  for (int64_t p : pre.todo) phases.insert(plan[static_cast<size_t>(p)].ranks_per_run);
  for (int ranks : phases) run_phase(*exp, plan, phase_order(plan, pre.todo, ranks), ranks, cmd, reporter, progress ? &*progress : nullptr);
  MPI_Comm_free(&messages);

  // 4. The index, rebuilt from the run files, and the exit status.
  int status = 0;
  if (rank == 0) {
    progress->close();
    try {
      const results::SweepSummary summary = results::rebuild_index(cmd.out_dir, exp->name());
      size_t completed = 0;
      for (const auto& r : summary.runs) completed += r.status == "completed";
      status = completed == summary.runs.size() && summary.runs.size() >= plan.size() ? 0 : 1;
      std::cout << fmt::format("tbptt: {} of {} runs completed; index {}\n", completed, plan.size(), index.string());
      if (g_interrupted) std::cout << "tbptt: interrupted: continue with the same command and --resume\n";
    } catch (const std::exception& e) {
      std::cerr << "tbptt: " << e.what() << "\n";
      g_output_failed = true;
      status = 1;
    }
    if (g_output_failed)
      std::cerr << "tbptt: stopped: results could not be written under " << cmd.out_dir.string()
                << " (the error is above); runs already finished are intact. Free space, then continue with the "
                   "same command and --resume\n";
  }
  MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return status;
}

}  // namespace tbptt::harness
