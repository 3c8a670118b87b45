#pragma once
// Typed file errors. Every HDF5 failure (unwritable folder, full disk, corrupt file) surfaces as
// one of these, naming the file and carrying HDF5's own error stack as text; the library never
// prints and never aborts, so the harness can record the failure and let the sweep go on.

#include <filesystem>
#include <stdexcept>
#include <string>

namespace tbptt::results {

class FileError : public std::runtime_error {
 public:
  FileError(const std::filesystem::path& path, const std::string& what)
      : std::runtime_error(path.string() + ": " + what), path_(path) {}
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Creating, writing, flushing, renaming or deleting failed.
class WriteError : public FileError {
 public:
  using FileError::FileError;
};

// Opening or reading failed, or the file does not follow results/README.md.
class ReadError : public FileError {
 public:
  using FileError::FileError;
};

}  // namespace tbptt::results
