#pragma once
// Facts about the machine and software that every run file records.

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tbptt::harness {

std::string tbptt_version();   // git describe of the build
std::string onednn_version();  // e.g. "2.6.3"
std::string mpi_version();     // first part of MPI_Get_library_version, e.g. "Open MPI v4.1.4"

// The host names of a communicator's ranks, in rank order (collective).
std::vector<std::string> host_names(MPI_Comm comm);

// Peak resident memory of this process since the last reset (Linux VmHWM), in bytes.
void reset_peak_rss();
int64_t peak_rss_bytes();
int64_t current_rss_bytes();

}  // namespace tbptt::harness
