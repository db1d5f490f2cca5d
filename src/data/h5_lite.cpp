#include "data/h5_lite.h"

#include <fmt/format.h>

#include "data/shard.h"

namespace qsweep::data::h5 {
namespace {

[[noreturn]] void fail(const std::string& file, const std::string& what) {
  throw ShardError(fmt::format("{}: {}", file, what));
}

std::string file_name(hid_t obj) {
  const ssize_t n = H5Fget_name(obj, nullptr, 0);
  if (n <= 0) return "<hdf5>";
  std::string s(static_cast<size_t>(n), '\0');
  H5Fget_name(obj, s.data(), s.size() + 1);
  return s;
}

Handle scalar_or_1d(size_t n) {
  const hsize_t d = n;
  return Handle(H5Screate_simple(1, &d, nullptr), H5Sclose);
}

}  // namespace

QuietErrors::QuietErrors() {
  H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}
QuietErrors::~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }

void write_attr(hid_t obj, const char* name, const std::string& value) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), value.size() + 1);  // with its NUL, as STRPAD H5T_STR_NULLTERM expects
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(H5Acreate2(obj, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (attr.get() < 0 || H5Awrite(attr.get(), type.get(), value.c_str()) < 0) {
    fail(file_name(obj), fmt::format("cannot write attribute '{}'", name));
  }
}

template <typename T>
void write_attr_array(hid_t obj, const char* name, const std::vector<T>& values, hid_t file_type, hid_t mem_type) {
  Handle space = scalar_or_1d(values.size());
  Handle attr(H5Acreate2(obj, name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (attr.get() < 0 || H5Awrite(attr.get(), mem_type, values.data()) < 0) {
    fail(file_name(obj), fmt::format("cannot write attribute '{}'", name));
  }
}

void write_attr(hid_t obj, const char* name, const std::vector<int64_t>& values) {
  write_attr_array(obj, name, values, H5T_STD_I64LE, H5T_NATIVE_INT64);
}
void write_attr(hid_t obj, const char* name, const std::vector<float>& values) {
  write_attr_array(obj, name, values, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT);
}

bool has_attr(hid_t obj, const char* name) { return H5Aexists(obj, name) > 0; }

std::string read_attr_string(hid_t obj, const char* name, const std::string& file) {
  if (!has_attr(obj, name)) fail(file, fmt::format("missing attribute '{}'", name));
  Handle attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) > 0) {
    fail(file, fmt::format("attribute '{}' is not a fixed-length string", name));
  }
  std::string s(H5Tget_size(type.get()) + 1, '\0');
  // HDF5 converts between strings of the same character set only.
  Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(mem.get(), s.size());
  H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
  if (H5Aread(attr.get(), mem.get(), s.data()) < 0) fail(file, fmt::format("cannot read attribute '{}'", name));
  s.resize(s.find('\0') == std::string::npos ? s.size() : s.find('\0'));
  return s;
}

template <typename T>
std::vector<T> read_attr_array(hid_t obj, const char* name, const std::string& file, hid_t mem_type,
                               H5T_class_t expect) {
  if (!has_attr(obj, name)) fail(file, fmt::format("missing attribute '{}'", name));
  Handle attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  if (H5Tget_class(type.get()) != expect) fail(file, fmt::format("attribute '{}' has an unexpected type", name));
  Handle space(H5Aget_space(attr.get()), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  std::vector<T> out(static_cast<size_t>(n < 0 ? 0 : n));
  if (H5Aread(attr.get(), mem_type, out.data()) < 0) fail(file, fmt::format("cannot read attribute '{}'", name));
  return out;
}

std::vector<int64_t> read_attr_ints(hid_t obj, const char* name, const std::string& file) {
  return read_attr_array<int64_t>(obj, name, file, H5T_NATIVE_INT64, H5T_INTEGER);
}
std::vector<float> read_attr_floats(hid_t obj, const char* name, const std::string& file) {
  return read_attr_array<float>(obj, name, file, H5T_NATIVE_FLOAT, H5T_FLOAT);
}

void write_dataset(hid_t file, const char* name, const std::vector<hsize_t>& dims, hid_t mem_type, const void* data,
                   const std::string& description) {
  Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  hid_t file_type = mem_type;
  if (H5Tequal(mem_type, H5T_NATIVE_INT64) > 0) file_type = H5T_STD_I64LE;
  if (H5Tequal(mem_type, H5T_NATIVE_UINT8) > 0) file_type = H5T_STD_U8LE;
  Handle ds(H5Dcreate2(file, name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  if (ds.get() < 0 || H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    fail(file_name(file), fmt::format("cannot write dataset '{}'", name));
  }
  write_attr(ds.get(), "description", description);
}

void write_strings(hid_t file, const char* name, const std::vector<std::string>& values,
                   const std::string& description) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  Handle space = scalar_or_1d(values.size());
  Handle ds(H5Dcreate2(file, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  if (ds.get() < 0 ||
      (!ptrs.empty() && H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0)) {
    fail(file_name(file), fmt::format("cannot write dataset '{}'", name));
  }
  write_attr(ds.get(), "description", description);
}

bool has_dataset(hid_t file, const char* name) { return H5Lexists(file, name, H5P_DEFAULT) > 0; }

std::vector<hsize_t> dataset_dims(hid_t file, const char* name, const std::string& path) {
  if (!has_dataset(file, name)) fail(path, fmt::format("missing dataset '{}'", name));
  Handle ds(H5Dopen2(file, name, H5P_DEFAULT), H5Dclose);
  Handle space(H5Dget_space(ds.get()), H5Sclose);
  const int nd = H5Sget_simple_extent_ndims(space.get());
  if (ds.get() < 0 || nd < 0) fail(path, fmt::format("cannot open dataset '{}'", name));
  std::vector<hsize_t> dims(static_cast<size_t>(nd));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

void read_dataset(hid_t file, const char* name, hid_t mem_type, void* out, const std::string& path) {
  Handle ds(H5Dopen2(file, name, H5P_DEFAULT), H5Dclose);
  if (ds.get() < 0 || H5Dread(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0) {
    fail(path, fmt::format("cannot read dataset '{}' (corrupt or truncated file?)", name));
  }
}

std::vector<std::string> read_strings(hid_t file, const char* name, const std::string& path) {
  const auto dims = dataset_dims(file, name, path);
  const size_t n = dims.empty() ? 1 : dims[0];
  Handle ds(H5Dopen2(file, name, H5P_DEFAULT), H5Dclose);
  Handle file_type(H5Dget_type(ds.get()), H5Tclose);
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5Tget_cset(file_type.get()));
  std::vector<char*> ptrs(n, nullptr);
  if (n > 0 && H5Dread(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0) {
    fail(path, fmt::format("cannot read string dataset '{}'", name));
  }
  std::vector<std::string> out;
  out.reserve(n);
  for (char* p : ptrs) out.emplace_back(p ? p : "");
  if (n > 0) {
    Handle space(H5Dget_space(ds.get()), H5Sclose);
    H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, ptrs.data());
  }
  return out;
}

}  // namespace qsweep::data::h5
