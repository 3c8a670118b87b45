// Memory is O(k2 * B * H), independent of the length of the data, and `tbptt plan` predicts it.
// Both drive the real `tbptt` binary (path in $TBPTT) on generated data in a temporary folder and
// read the run's peak resident memory from the kernel (wait4's ru_maxrss: the whole process, MPI,
// HDF5 and oneDNN included).

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace tbptt::engine::testing {
namespace {

namespace fs = std::filesystem;

struct Child {
  int status = -1;
  std::string out;      // stdout
  double peak_mib = 0;  // maximum resident set size
};

// Runs `tbptt args...` in `dir`, capturing stdout.
Child tbptt(const std::vector<std::string>& args, const fs::path& dir) {
  const char* env = std::getenv("TBPTT");
  if (!env) throw std::runtime_error("set TBPTT to the tbptt binary (CTest does)");
  const std::string exe = fs::absolute(env).string();  // the child changes directory
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    close(pipe_fds[0]);
    if (chdir(dir.c_str()) != 0) _exit(127);
    std::vector<char*> argv{const_cast<char*>(exe.c_str())};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(exe.c_str(), argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  Child c;
  char buf[4096];
  for (ssize_t n; (n = read(pipe_fds[0], buf, sizeof buf)) > 0;) c.out.append(buf, static_cast<size_t>(n));
  close(pipe_fds[0]);
  rusage usage{};
  wait4(pid, &c.status, 0, &usage);
  c.peak_mib = static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
  return c;
}

class Folder {
 public:
  Folder() {
    std::string tmpl = (fs::temp_directory_path() / "tbptt-memory-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~Folder() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
    return path_ / name;
  }

 private:
  fs::path path_;
};

// One thread, generated tokens, no evaluation besides the final one.
std::string experiment(const std::string& data, const std::string& model, int k, int batch) {
  std::ostringstream y;
  y << "name: memory\nseed: 1\n"
    << "data: {source: random_tokens, " << data << "}\n"
    << "model: {cell: lstm, layers: 1, " << model << "}\n"
    << "tbptt: {k1: " << k << "}\n"
    << "train: {batch: " << batch << ", epochs: 1}\n"
    << "eval: {every: 0}\nparallel: {threads_per_rank: 1}\n";
  return y.str();
}

double run_peak(const Folder& dir, const fs::path& yaml) {
  const Child c = tbptt({"run", yaml.string(), "--overwrite", "--out", (dir.path() / "results").string()}, dir.path());
  EXPECT_TRUE(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0) << c.out;
  return c.peak_mib;
}

// The "peak MiB" of the plan's only run: its rows read  #  run-id  ranks  updates  peak  cost  swept.
double planned_peak(const Folder& dir, const fs::path& yaml) {
  const Child c = tbptt({"plan", yaml.string()}, dir.path());
  EXPECT_TRUE(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0) << c.out;
  EXPECT_NE(c.out.find("peak MiB"), std::string::npos) << c.out;
  std::istringstream lines(c.out);
  std::string line, last;
  while (std::getline(lines, line))
    if (!line.empty()) last = line;
  std::istringstream row(last);
  std::string index, id, ranks, updates;
  double peak = 0;
  row >> index >> id >> ranks >> updates >> peak;
  return peak;
}

// 10^4 and 10^6 steps of the same stream (1 epoch: 15 and 1562 updates): the data are generated
// from their position, windows are cut on the fly, results are flushed, so nothing may grow.
// (Holding the stream would add 9 bytes a step: 9 MB, 18% of this run.)
TEST(Memory, PeakIndependentOfStreamLength) {
  Folder dir;
  const std::string model = "hidden: 64, embedding: 16";
  const double short_run = run_peak(dir, dir.write("short.yaml", experiment("vocab: 256, length: 10000, valid_length: 2000, test_length: 1000", model, 20, 32)));
  const double long_run = run_peak(dir, dir.write("long.yaml", experiment("vocab: 256, length: 1000000, valid_length: 2000, test_length: 1000", model, 20, 32)));
  std::printf("peak RSS: 10^4 steps %.1f MiB, 10^6 steps %.1f MiB\n", short_run, long_run);
  ASSERT_GT(short_run, 0);
  EXPECT_LT(std::abs(long_run - short_run) / short_run, 0.05);
}

// Whether the CPU can run a bf16 model (the binary refuses one otherwise).
bool cpu_has_avx512_bf16() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line))
    if (line.rfind("flags", 0) == 0) return line.find(" avx512_bf16") != std::string::npos;
  return false;
}

// The prediction covers the process, the model and optimizer, a checkpoint, and the window's
// buffers including the part of oneDNN's workspace it writes; k = 1000 is dominated by the window.
// bf16 too: its LSTM's gate gradients and chunk products take scratchpad of their own.
TEST(Memory, PlanPredictsPeakWithin15Percent) {
  Folder dir;
  struct Case {
    const char* precision;
    int k;
  };
  std::vector<Case> cases{{"f32", 10}, {"f32", 100}, {"f32", 1000}};
  if (cpu_has_avx512_bf16()) cases.insert(cases.end(), {{"bf16", 100}, {"bf16", 1000}});
  for (const Case& c : cases) {
    const fs::path yaml =
        dir.write("k.yaml", experiment("vocab: 1000, length: 64000, valid_length: 20000, test_length: 1000",
                                       std::string("hidden: 128, embedding: 64, precision: ") + c.precision, c.k, 16));
    const double predicted = planned_peak(dir, yaml), measured = run_peak(dir, yaml);
    std::printf("%s, k = %d: predicted %.1f MiB, measured %.1f MiB (%+.1f%%)\n", c.precision, c.k, predicted, measured,
                100 * (predicted - measured) / measured);
    EXPECT_LT(std::abs(predicted - measured) / measured, 0.15) << c.precision << ", k = " << c.k;
  }
}

}  // namespace
}  // namespace tbptt::engine::testing
