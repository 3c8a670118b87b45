#pragma once
// Tables on disk: a group of equal-length extendible 1-D columns, one per Column of the Row.
//
//   train/            update  epoch  tokens  loss   ...  time_optimizer
//     row 0  ──────▶    1       0     640    4.61  ...  0.0008
//     row 1  ──────▶    2       0    1280    4.58  ...  0.0007
//
// TableWriter buffers rows in memory and appends them to every column at write(); the caller then
// publishes the file (run_writer.h), so published columns always have equal lengths. read_table()
// still keeps only the rows every column has (the shortest length), for files edited by hand.

#include <algorithm>
#include <string>
#include <type_traits>
#include <vector>

#include "results/h5.h"
#include "results/schema.h"

namespace tbptt::results {

template <class T>
hid_t memory_type() {
  if constexpr (std::is_same_v<T, int64_t>) return H5T_NATIVE_INT64;
  else if constexpr (std::is_same_v<T, double>) return H5T_NATIVE_DOUBLE;
  else return H5T_NATIVE_INT8;  // Split: an int8 enum, stored as its code
}

template <class T>
hid_t file_type() {
  if constexpr (std::is_same_v<T, int64_t>) return H5T_STD_I64LE;
  else if constexpr (std::is_same_v<T, double>) return H5T_IEEE_F64LE;
  else return H5T_STD_I8LE;
}

template <class Row>
class TableWriter {
 public:
  // Creates `group` with one empty column per entry of `columns` (which must outlive this).
  TableWriter(hid_t file, const std::string& group, const std::vector<Column<Row>>& columns,
              const h5::Site& site)
      : columns_(&columns) {
    h5::Handle handle = h5::create_group(file, group, site);
    for (const auto& column : columns) {
      std::visit(
          [&](auto member) {
            using T = std::remove_cvref_t<decltype(std::declval<Row>().*member)>;
            datasets_.push_back(
                h5::create_extendible(handle.get(), column.name, file_type<T>(), kChunkRows, site));
          },
          column.member);
    }
  }

  void add(const Row& row) { pending_.push_back(row); }

  // Appends the pending rows to every column. The rows stay pending if HDF5 fails.
  void write(const h5::Site& site) {
    if (pending_.empty()) return;
    for (size_t c = 0; c < columns_->size(); ++c) {
      std::visit(
          [&](auto member) {
            using T = std::remove_cvref_t<decltype(std::declval<Row>().*member)>;
            std::vector<T> values;
            values.reserve(pending_.size());
            for (const Row& row : pending_) values.push_back(row.*member);
            h5::append_rows(datasets_[c].get(), memory_type<T>(), written_, values.size(),
                            values.data(), site);
          },
          (*columns_)[c].member);
    }
    written_ += pending_.size();
    pending_.clear();
  }

 private:
  static constexpr hsize_t kChunkRows = 512;  // 4 KiB per float64 chunk
  const std::vector<Column<Row>>* columns_;
  std::vector<h5::Handle> datasets_;
  std::vector<Row> pending_;
  hsize_t written_ = 0;
};

// All rows of `group`, or none if the group is missing (e.g. fidelity/ when the probe was off).
template <class Row>
std::vector<Row> read_table(hid_t file, const std::string& group,
                            const std::vector<Column<Row>>& columns, const h5::Site& site) {
  if (!h5::exists(file, group)) return {};
  h5::Handle handle = h5::open_group(file, group, site);
  std::vector<Row> rows;
  bool first = true;
  for (const auto& column : columns) {
    std::visit(
        [&](auto member) {
          using T = std::remove_cvref_t<decltype(std::declval<Row>().*member)>;
          std::vector<T> values;
          if constexpr (std::is_same_v<T, double>) {
            values = h5::read_doubles(handle.get(), column.name, site);
          } else {
            // Integer and code columns both read through int64 (HDF5 converts int8 on read).
            for (int64_t v : h5::read_int64s(handle.get(), column.name, site))
              values.push_back(static_cast<T>(v));
          }
          if (first) rows.resize(values.size());
          first = false;
          rows.resize(std::min(rows.size(), values.size()));
          for (size_t i = 0; i < rows.size(); ++i) rows[i].*member = values[i];
        },
        column.member);
  }
  return rows;
}

}  // namespace tbptt::results
