#include "results/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

namespace tbptt::results {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const fs::path& path, const std::string& what, int error) {
  throw WriteError(path, what + ": " + std::strerror(error));
}

// An open file descriptor, closed when it goes out of scope (errors of that close are moot: the
// path that needs a checked close calls close_checked()).
class Descriptor {
 public:
  Descriptor(const fs::path& path, int flags) : fd_(::open(path.c_str(), flags | O_CLOEXEC, 0644)) {
    if (fd_ < 0) fail(path, "open", errno);
  }
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  int get() const { return fd_; }
  void close_checked(const fs::path& path) {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail(path, "close", errno);
  }

 private:
  int fd_;
};

void sync(const Descriptor& file, const fs::path& path) {
  if (::fsync(file.get()) != 0) fail(path, "fsync", errno);
}

void write_all(const Descriptor& file, const fs::path& path, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(file.get(), data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(path, "write", errno);
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

}  // namespace

fs::path temporary_file(const fs::path& target) { return fs::path(target).concat(".tmp"); }

void write_atomically(const fs::path& target, const void* data, std::size_t size) {
  const fs::path temporary = temporary_file(target);
  try {
    Descriptor file(temporary, O_WRONLY | O_CREAT | O_TRUNC);
    write_all(file, temporary, static_cast<const char*>(data), size);
    sync(file, temporary);
    file.close_checked(temporary);
  } catch (const WriteError&) {
    std::error_code ignored;  // the error being thrown is the one worth reporting
    fs::remove(temporary, ignored);
    throw;
  }
  rename_durably(temporary, target);
}

void commit_file(const fs::path& written, const fs::path& target) {
  {
    Descriptor file(written, O_RDONLY);
    sync(file, written);
  }
  rename_durably(written, target);
}

void rename_durably(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    fail(from, "rename to " + to.filename().string(), errno);
  const fs::path folder = to.has_parent_path() ? to.parent_path() : fs::path(".");
  Descriptor directory(folder, O_RDONLY | O_DIRECTORY);
  sync(directory, folder);
}

}  // namespace tbptt::results
