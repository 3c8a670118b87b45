#pragma once
// A thin layer over the HDF5 C API: owned handles, errors as exceptions, and the few shapes of
// data the schema uses (attributes, string lists, dense float/int arrays, extendible columns).
//
// Every call that can fail goes through check(), which turns a negative HDF5 return into a
// WriteError or ReadError carrying the path and HDF5's error stack. quiet() switches off HDF5's
// own printing on the calling thread (error stacks are per thread in the thread-safe build), so
// the library prints nothing itself.

#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "results/errors.h"
#include "results/value.h"

namespace tbptt::results::h5 {

enum class Access { read, write };

// The file an error is reported against, and whether we were reading or writing it.
struct Site {
  std::filesystem::path path;
  Access access;
};

void quiet();

// Throws WriteError / ReadError: "<path>: <what>: <HDF5 error stack, innermost last>".
[[noreturn]] void fail(const Site& site, const std::string& what);

template <class T>
T check(T result, const Site& site, const std::string& what) {
  if (result < 0) fail(site, what);
  return result;
}

// An owned hid_t, closed with the matching H5?close when it goes out of scope.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(Handle&& other) noexcept : id_(other.id_), closer_(other.closer_) { other.id_ = -1; }
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  // Closes now; returns HDF5's status so a failed close of a file (its final flush) can be reported.
  herr_t reset();

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

// Files. create_file truncates; the format is the library default (v0 superblock), which any
// HDF5 >= 1.8 tool opens without h5clear.
Handle create_file(const Site& site);
Handle open_file(const Site& site);  // read-only for Access::read, read-write for Access::write
// A file held only in memory (core driver, no backing store): nothing reaches the disk until
// the caller writes out file_image(). `site.path` names it in errors and nowhere else.
Handle create_memory_file(const Site& site);
// The whole file as bytes, after a flush: a complete, consistent HDF5 file.
std::vector<char> file_image(hid_t file, const Site& site);

// Groups and links. `name` may be a path ("checkpoint/0000000100"); exists() checks each part.
bool exists(hid_t loc, const std::string& name);
// track_order: members list in creation order (h5py iterates them so), not by name.
Handle create_group(hid_t loc, const std::string& name, const Site& site, bool track_order = false);
Handle open_group(hid_t loc, const std::string& name, const Site& site);
std::vector<std::string> member_names(hid_t group, const Site& site);  // sorted by name
Handle open_dataset(hid_t loc, const std::string& name, const Site& site);
// An external link `name` (missing groups on the way are created) to `object` in `target_file`.
// A relative target resolves against the folder of the file holding the link.
void link_external(hid_t loc, const std::string& name, const std::string& target_file,
                   const std::string& object, const Site& site);
void delete_link(hid_t loc, const std::string& name, const Site& site);

// Attributes (replacing any of the same name) and the attributes of an object, in storage order.
// Attribute types outside Value (e.g. numeric arrays added by hand) are skipped when reading.
void write_attribute(hid_t object, const std::string& name, const Value& value, const Site& site);
Attributes read_attributes(hid_t object, const Site& site);

// 1-D datasets written whole: variable-length UTF-8 strings, int64 and float64 columns.
void write_strings(hid_t loc, const std::string& name, const std::vector<std::string>& values,
                   const Site& site);
void write_column(hid_t loc, const std::string& name, const std::vector<int64_t>& values,
                  const Site& site);
void write_column(hid_t loc, const std::string& name, const std::vector<double>& values,
                  const Site& site);
std::vector<std::string> read_strings(hid_t loc, const std::string& name, const Site& site);

// A float32 array of any rank with the given shape (row-major), and back.
void write_floats(hid_t loc, const std::string& name, const std::vector<int64_t>& shape,
                  const std::vector<float>& values, const Site& site);
std::vector<float> read_floats(hid_t loc, const std::string& name, std::vector<int64_t>& shape,
                               const Site& site);

// Whole 1-D numeric dataset, converted by HDF5 to the requested memory type. Used for columns.
std::vector<int64_t> read_int64s(hid_t loc, const std::string& name, const Site& site);
std::vector<double> read_doubles(hid_t loc, const std::string& name, const Site& site);

// An empty 1-D column that grows: chunked, unlimited, one chunk holds `chunk_rows` rows.
Handle create_extendible(hid_t loc, const std::string& name, hid_t file_type, hsize_t chunk_rows,
                         const Site& site);
// Grows the column from `offset` rows to offset + count and writes `data` (memory type `mem_type`).
void append_rows(hid_t dataset, hid_t mem_type, hsize_t offset, hsize_t count, const void* data,
                 const Site& site);

}  // namespace tbptt::results::h5
