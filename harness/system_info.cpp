#include "harness/system_info.h"

#include <unistd.h>

#include <cstring>
#include <dnnl.hpp>
#include <fstream>
#include <string>

namespace tbptt::harness {
namespace {

// A "Name:   1234 kB" line of /proc/self/status, in bytes (0 if absent).
int64_t proc_status_kb(const char* name) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(name);
  while (std::getline(in, line))
    if (line.compare(0, n, name) == 0 && line.size() > n && line[n] == ':') return std::stoll(line.substr(n + 1)) * 1024;
  return 0;
}

}  // namespace

std::string tbptt_version() { return TBPTT_GIT_DESCRIBE; }

std::string onednn_version() {
  const dnnl_version_t* v = dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

std::string mpi_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(text, &length);
  std::string s(text, static_cast<size_t>(length));
  return s.substr(0, s.find_first_of(",\n"));
}

std::vector<std::string> host_names(MPI_Comm comm) {
  char mine[256] = {};
  gethostname(mine, sizeof mine - 1);
  int size = 1;
  MPI_Comm_size(comm, &size);
  std::vector<char> all(sizeof mine * static_cast<size_t>(size));
  MPI_Allgather(mine, sizeof mine, MPI_CHAR, all.data(), sizeof mine, MPI_CHAR, comm);
  std::vector<std::string> names;
  for (int r = 0; r < size; ++r) names.emplace_back(all.data() + sizeof mine * static_cast<size_t>(r));
  return names;
}

void reset_peak_rss() {
  std::ofstream("/proc/self/clear_refs") << "5";  // Linux >= 4.0: VmHWM := VmRSS
}

int64_t peak_rss_bytes() { return proc_status_kb("VmHWM"); }
int64_t current_rss_bytes() { return proc_status_kb("VmRSS"); }

}  // namespace tbptt::harness
