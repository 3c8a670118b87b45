#include "results/h5.h"

#include <algorithm>
#include <functional>
#include <numeric>

#include "common/check.h"

namespace tbptt::results::h5 {

void quiet() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

namespace {

herr_t collect_error(unsigned, const H5E_error2_t* error, void* text_ptr) {
  auto& text = *static_cast<std::string*>(text_ptr);
  text += text.empty() ? "" : "; ";
  text += std::string(error->func_name) + ": " + error->desc;
  return 0;
}

// Variable-length UTF-8 string type: what h5py reads back as `str`.
Handle utf8_type() {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  return Handle(type, H5Tclose);
}

Handle simple_space(const std::vector<hsize_t>& dims) {
  if (dims.empty()) return Handle(H5Screate(H5S_SCALAR), H5Sclose);
  return Handle(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
}

std::vector<hsize_t> extent(hid_t object_space) {
  const int rank = H5Sget_simple_extent_ndims(object_space);
  std::vector<hsize_t> dims(static_cast<size_t>(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(object_space, dims.data(), nullptr);
  return dims;
}

hsize_t element_count(const std::vector<hsize_t>& dims) {
  return std::accumulate(dims.begin(), dims.end(), hsize_t{1}, std::multiplies<>());
}

// Reads the strings held by an attribute or dataset of string type (variable or fixed length).
// `read(mem_type, buffer)` is H5Aread or H5Dread bound to the object.
std::vector<std::string> read_string_data(hid_t file_type, hsize_t count,
                                          const std::function<herr_t(hid_t, void*)>& read,
                                          const Site& site, const std::string& what) {
  std::vector<std::string> out;
  out.reserve(count);
  if (H5Tis_variable_str(file_type) > 0) {
    Handle mem = utf8_type();
    std::vector<char*> pointers(count, nullptr);
    if (count > 0) check(read(mem.get(), pointers.data()), site, "read " + what);
    for (char* p : pointers) {
      out.emplace_back(p ? p : "");
      H5free_memory(p);
    }
    return out;
  }
  const size_t width = H5Tget_size(file_type);
  Handle mem(H5Tcopy(file_type), H5Tclose);
  std::vector<char> buffer(count * width);
  if (count > 0) check(read(mem.get(), buffer.data()), site, "read " + what);
  for (hsize_t i = 0; i < count; ++i) {
    const char* begin = buffer.data() + i * width;
    out.emplace_back(begin, std::find(begin, begin + width, '\0'));
  }
  return out;
}

void write_dataset(hid_t loc, const std::string& name, hid_t file_type, hid_t mem_type,
                   const std::vector<hsize_t>& dims, const void* data, const Site& site) {
  Handle space = simple_space(dims);
  Handle dataset(check(H5Dcreate2(loc, name.c_str(), file_type, space.get(), H5P_DEFAULT,
                                  H5P_DEFAULT, H5P_DEFAULT),
                       site, "create dataset " + name),
                 H5Dclose);
  if (element_count(dims) > 0)
    check(H5Dwrite(dataset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), site,
          "write dataset " + name);
}

template <class T>
std::vector<T> read_numbers(hid_t loc, const std::string& name, hid_t mem_type, const Site& site) {
  Handle dataset = open_dataset(loc, name, site);
  Handle space(H5Dget_space(dataset.get()), H5Sclose);
  const std::vector<hsize_t> dims = extent(space.get());
  if (dims.size() != 1) fail(site, name + " is not a 1-D column");
  std::vector<T> values(dims[0]);
  if (!values.empty())
    check(H5Dread(dataset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), site,
          "read " + name);
  return values;
}

}  // namespace

[[noreturn]] void fail(const Site& site, const std::string& what) {
  std::string stack;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &stack);
  H5Eclear2(H5E_DEFAULT);
  const std::string message = stack.empty() ? what : what + ": " + stack;
  if (site.access == Access::write) throw WriteError(site.path, message);
  throw ReadError(site.path, message);
}

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = other.id_;
    closer_ = other.closer_;
    other.id_ = -1;
  }
  return *this;
}

herr_t Handle::reset() {
  herr_t status = 0;
  if (id_ >= 0 && closer_ != nullptr) status = closer_(id_);
  id_ = -1;
  return status;
}

Handle create_file(const Site& site) {
  return Handle(check(H5Fcreate(site.path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), site,
                      "create HDF5 file"),
                H5Fclose);
}

Handle open_file(const Site& site) {
  const unsigned flags = site.access == Access::write ? H5F_ACC_RDWR : H5F_ACC_RDONLY;
  return Handle(check(H5Fopen(site.path.c_str(), flags, H5P_DEFAULT), site, "open HDF5 file"),
                H5Fclose);
}

Handle create_memory_file(const Site& site) {
  Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  constexpr size_t kGrowBy = size_t{1} << 20;  // the image grows in 1 MiB steps
  check(H5Pset_fapl_core(access.get(), kGrowBy, /*backing_store=*/0), site, "choose the core driver");
  return Handle(check(H5Fcreate(site.path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access.get()), site,
                      "create in-memory HDF5 file"),
                H5Fclose);
}

std::vector<char> file_image(hid_t file, const Site& site) {
  check(H5Fflush(file, H5F_SCOPE_LOCAL), site, "flush");
  const ssize_t size = check(H5Fget_file_image(file, nullptr, 0), site, "size the file image");
  std::vector<char> image(static_cast<size_t>(size));
  check(H5Fget_file_image(file, image.data(), image.size()), site, "copy the file image");
  return image;
}

bool exists(hid_t loc, const std::string& name) {
  size_t end = 0;
  do {
    end = name.find('/', end + 1);
    if (H5Lexists(loc, name.substr(0, end).c_str(), H5P_DEFAULT) <= 0) return false;
  } while (end != std::string::npos);
  return true;
}

Handle create_group(hid_t loc, const std::string& name, const Site& site, bool track_order) {
  Handle link_plist(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(link_plist.get(), 1);
  Handle group_plist(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
  if (track_order)
    H5Pset_link_creation_order(group_plist.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  return Handle(check(H5Gcreate2(loc, name.c_str(), link_plist.get(), group_plist.get(), H5P_DEFAULT),
                      site, "create group " + name),
                H5Gclose);
}

Handle open_group(hid_t loc, const std::string& name, const Site& site) {
  return Handle(check(H5Gopen2(loc, name.c_str(), H5P_DEFAULT), site, "open group " + name),
                H5Gclose);
}

void link_external(hid_t loc, const std::string& name, const std::string& target_file,
                   const std::string& object, const Site& site) {
  Handle link_plist(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(link_plist.get(), 1);
  check(H5Lcreate_external(target_file.c_str(), object.c_str(), loc, name.c_str(), link_plist.get(),
                           H5P_DEFAULT),
        site, "link " + name + " to " + target_file);
}

void delete_link(hid_t loc, const std::string& name, const Site& site) {
  check(H5Ldelete(loc, name.c_str(), H5P_DEFAULT), site, "delete " + name);
}

std::vector<std::string> member_names(hid_t group, const Site& site) {
  std::vector<std::string> names;
  auto push = [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
    static_cast<std::vector<std::string>*>(out)->emplace_back(name);
    return 0;
  };
  check(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, nullptr, push, &names), site,
        "list group members");
  return names;
}

Handle open_dataset(hid_t loc, const std::string& name, const Site& site) {
  return Handle(check(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), site, "open dataset " + name),
                H5Dclose);
}

void write_attribute(hid_t object, const std::string& name, const Value& value, const Site& site) {
  if (H5Aexists(object, name.c_str()) > 0)
    check(H5Adelete(object, name.c_str()), site, "replace attribute " + name);
  auto write = [&](hid_t file_type, hid_t mem_type, const std::vector<hsize_t>& dims,
                   const void* data) {
    Handle space = simple_space(dims);
    Handle attribute(check(H5Acreate2(object, name.c_str(), file_type, space.get(), H5P_DEFAULT,
                                      H5P_DEFAULT),
                           site, "create attribute " + name),
                     H5Aclose);
    check(H5Awrite(attribute.get(), mem_type, data), site, "write attribute " + name);
  };
  if (const auto* i = std::get_if<int64_t>(&value)) {
    write(H5T_STD_I64LE, H5T_NATIVE_INT64, {}, i);
  } else if (const auto* d = std::get_if<double>(&value)) {
    write(H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {}, d);
  } else if (const auto* b = std::get_if<bool>(&value)) {
    const int8_t flag = *b ? 1 : 0;
    write(H5T_STD_I8LE, H5T_NATIVE_INT8, {}, &flag);
  } else if (const auto* s = std::get_if<std::string>(&value)) {
    Handle type = utf8_type();
    const char* pointer = s->c_str();
    write(type.get(), type.get(), {}, &pointer);
  } else {
    const auto& list = std::get<std::vector<std::string>>(value);
    Handle type = utf8_type();
    std::vector<const char*> pointers;
    for (const auto& item : list) pointers.push_back(item.c_str());
    // An empty list is a 1-D attribute of length 0 (h5py: an empty array), not a null dataspace.
    Handle space = simple_space({list.size()});
    Handle attribute(check(H5Acreate2(object, name.c_str(), type.get(), space.get(), H5P_DEFAULT,
                                      H5P_DEFAULT),
                           site, "create attribute " + name),
                     H5Aclose);
    if (!list.empty())
      check(H5Awrite(attribute.get(), type.get(), pointers.data()), site,
            "write attribute " + name);
  }
}

Attributes read_attributes(hid_t object, const Site& site) {
  // Names first: the iteration callback is C code, which exceptions must not cross.
  std::vector<std::string> names;
  auto push = [](hid_t, const char* name, const H5A_info_t*, void* out) -> herr_t {
    static_cast<std::vector<std::string>*>(out)->emplace_back(name);
    return 0;
  };
  check(H5Aiterate2(object, H5_INDEX_NAME, H5_ITER_NATIVE, nullptr, push, &names), site,
        "list attributes");
  Attributes attributes;
  for (const auto& name : names) {
    Handle attribute(check(H5Aopen(object, name.c_str(), H5P_DEFAULT), site, "open " + name),
                     H5Aclose);
    Handle type(H5Aget_type(attribute.get()), H5Tclose);
    Handle space(H5Aget_space(attribute.get()), H5Sclose);
    const H5S_class_t shape = H5Sget_simple_extent_type(space.get());
    const bool scalar = shape == H5S_SCALAR;
    auto read = [&](hid_t mem, void* buffer) { return H5Aread(attribute.get(), mem, buffer); };
    switch (H5Tget_class(type.get())) {
      case H5T_INTEGER: {
        if (!scalar) break;
        int64_t number = 0;
        check(read(H5T_NATIVE_INT64, &number), site, "read attribute " + name);
        if (H5Tget_size(type.get()) == 1)
          attributes.emplace_back(name, number != 0);
        else
          attributes.emplace_back(name, number);
        break;
      }
      case H5T_FLOAT: {
        if (!scalar) break;
        double number = 0;
        check(read(H5T_NATIVE_DOUBLE, &number), site, "read attribute " + name);
        attributes.emplace_back(name, number);
        break;
      }
      case H5T_STRING: {
        if (scalar) {
          attributes.emplace_back(name,
                                  read_string_data(type.get(), 1, read, site, name).front());
        } else if (shape == H5S_SIMPLE && extent(space.get()).size() == 1) {
          const hsize_t count = extent(space.get())[0];
          attributes.emplace_back(name, read_string_data(type.get(), count, read, site, name));
        }
        break;
      }
      default:
        break;  // not a Value: skipped (documented in README.md)
    }
  }
  return attributes;
}

void write_strings(hid_t loc, const std::string& name, const std::vector<std::string>& values,
                   const Site& site) {
  Handle type = utf8_type();
  std::vector<const char*> pointers;
  for (const auto& value : values) pointers.push_back(value.c_str());
  write_dataset(loc, name, type.get(), type.get(), {values.size()}, pointers.data(), site);
}

void write_column(hid_t loc, const std::string& name, const std::vector<int64_t>& values,
                  const Site& site) {
  write_dataset(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, {values.size()}, values.data(), site);
}

void write_column(hid_t loc, const std::string& name, const std::vector<double>& values,
                  const Site& site) {
  write_dataset(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {values.size()}, values.data(),
                site);
}

std::vector<std::string> read_strings(hid_t loc, const std::string& name, const Site& site) {
  Handle dataset = open_dataset(loc, name, site);
  Handle type(H5Dget_type(dataset.get()), H5Tclose);
  Handle space(H5Dget_space(dataset.get()), H5Sclose);
  const std::vector<hsize_t> dims = extent(space.get());
  if (dims.size() != 1 || H5Tget_class(type.get()) != H5T_STRING)
    fail(site, name + " is not a 1-D list of strings");
  auto read = [&](hid_t mem, void* buffer) {
    return H5Dread(dataset.get(), mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer);
  };
  return read_string_data(type.get(), dims[0], read, site, name);
}

void write_floats(hid_t loc, const std::string& name, const std::vector<int64_t>& shape,
                  const std::vector<float>& values, const Site& site) {
  std::vector<hsize_t> dims;
  for (int64_t d : shape) {
    TBPTT_CHECK(d >= 0, "negative dimension in the shape of tensor " + name);
    dims.push_back(static_cast<hsize_t>(d));
  }
  TBPTT_CHECK(element_count(dims) == values.size(),
              "tensor " + name + ": shape and number of values disagree");
  write_dataset(loc, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, dims, values.data(), site);
}

std::vector<float> read_floats(hid_t loc, const std::string& name, std::vector<int64_t>& shape,
                               const Site& site) {
  Handle dataset = open_dataset(loc, name, site);
  Handle space(H5Dget_space(dataset.get()), H5Sclose);
  const std::vector<hsize_t> dims = extent(space.get());
  shape.assign(dims.begin(), dims.end());
  std::vector<float> values(element_count(dims));
  if (!values.empty())
    check(H5Dread(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
          site, "read " + name);
  return values;
}

std::vector<int64_t> read_int64s(hid_t loc, const std::string& name, const Site& site) {
  return read_numbers<int64_t>(loc, name, H5T_NATIVE_INT64, site);
}

std::vector<double> read_doubles(hid_t loc, const std::string& name, const Site& site) {
  return read_numbers<double>(loc, name, H5T_NATIVE_DOUBLE, site);
}

Handle create_extendible(hid_t loc, const std::string& name, hid_t file_type, hsize_t chunk_rows,
                         const Site& site) {
  const hsize_t empty = 0, unlimited = H5S_UNLIMITED;
  Handle space(H5Screate_simple(1, &empty, &unlimited), H5Sclose);
  Handle create_plist(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  check(H5Pset_chunk(create_plist.get(), 1, &chunk_rows), site, "chunk " + name);
  return Handle(check(H5Dcreate2(loc, name.c_str(), file_type, space.get(), H5P_DEFAULT,
                                 create_plist.get(), H5P_DEFAULT),
                      site, "create column " + name),
                H5Dclose);
}

void append_rows(hid_t dataset, hid_t mem_type, hsize_t offset, hsize_t count, const void* data,
                 const Site& site) {
  const hsize_t rows = offset + count;
  check(H5Dset_extent(dataset, &rows), site, "extend column");
  Handle file_space(H5Dget_space(dataset), H5Sclose);
  check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &offset, nullptr, &count, nullptr),
        site, "select rows");
  Handle mem_space(H5Screate_simple(1, &count, nullptr), H5Sclose);
  check(H5Dwrite(dataset, mem_type, mem_space.get(), file_space.get(), H5P_DEFAULT, data), site,
        "append rows");
}

}  // namespace tbptt::results::h5
