#include "results/writer_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace tbptt::results {

namespace fs = std::filesystem;

WriterLock::WriterLock(fs::path path) : path_(std::move(path)) {
  // A writer that finishes removes the file while holding the lock: if that happened between our
  // open() and our flock(), we locked a file no longer at `path`, so we try again.
  for (;;) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw WriteError(path_, std::string("create lock file: ") + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      ::close(fd_);
      fd_ = -1;
      if (error == EWOULDBLOCK)
        throw WriteError(path_, "another writer of this run is alive (it holds the lock file)");
      throw WriteError(path_, std::string("lock: ") + std::strerror(error));
    }
    struct stat opened {}, named {};
    if (::fstat(fd_, &opened) == 0 && ::stat(path_.c_str(), &named) == 0 &&
        opened.st_dev == named.st_dev && opened.st_ino == named.st_ino)
      return;
    ::close(fd_);
  }
}

WriterLock::~WriterLock() {
  ::unlink(path_.c_str());  // first, so nobody finds the file unlocked while we are alive
  ::close(fd_);
}

bool WriterLock::held(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // releases our shared lock, if we got it
  return held;
}

}  // namespace tbptt::results
