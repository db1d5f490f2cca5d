// The HDF5 C API behind h5.h, first half: error messages built from HDF5's error stack, type
// mapping, handles, attributes, compound types and datasets. Nodes and files: h5_node.cpp.
#include "support/h5.h"

#include <fmt/format.h>

#include <mutex>

#include "support/h5_detail.h"

namespace qsweep::h5 {

static_assert(std::is_same_v<hid, hid_t>, "h5::hid must be HDF5's hid_t (HDF5 >= 1.10)");
static_assert(sizeof(uint64_t) == sizeof(hsize_t), "hsize_t must be 64-bit");

namespace detail {

void init() {
  static std::once_flag once;
  std::call_once(once, [] {
    H5open();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors become exceptions, not stderr noise
  });
}

namespace {
herr_t collect_error(unsigned n, const H5E_error2_t* e, void* data) {
  auto* out = static_cast<std::string*>(data);
  if (n > 0) *out += "; ";
  *out += fmt::format("{}(): {}", e->func_name ? e->func_name : "?", e->desc ? e->desc : "?");
  return 0;
}
}  // namespace

void fail(const std::string& what) {
  std::string stack;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &stack);
  H5Eclear2(H5E_DEFAULT);
  throw Error(stack.empty() ? what : fmt::format("{} (HDF5: {})", what, stack));
}

hid_t check(hid_t id, const std::string& what) {
  if (id < 0) fail(what);
  return id;
}

void check_status(herr_t status, const std::string& what) {
  if (status < 0) fail(what);
}

std::string object_name(hid_t id) {
  ssize_t n = H5Iget_name(id, nullptr, 0);
  if (n <= 0) return "?";
  std::string s(static_cast<size_t>(n), '\0');
  H5Iget_name(id, s.data(), s.size() + 1);
  return s;
}

std::string file_of(hid_t id) {
  ssize_t n = H5Fget_name(id, nullptr, 0);
  if (n <= 0) return "?";
  std::string s(static_cast<size_t>(n), '\0');
  H5Fget_name(id, s.data(), s.size() + 1);
  return s;
}

std::string where(hid_t loc, const std::string& path) {
  std::string base = object_name(loc);
  std::string full = path.empty()          ? base
                     : path.front() == '/' ? path
                     : base == "/"         ? "/" + path
                                           : base + "/" + path;
  return file_of(loc) + ":" + full;
}

Handle string_type() {
  Handle t(check(H5Tcopy(H5T_C_S1), "H5Tcopy"));
  check_status(H5Tset_size(t.get(), H5T_VARIABLE), "H5Tset_size");
  check_status(H5Tset_cset(t.get(), H5T_CSET_UTF8), "H5Tset_cset");
  return t;
}

Handle link_create_props() {
  Handle p(check(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate"));
  check_status(H5Pset_create_intermediate_group(p.get(), 1), "H5Pset_create_intermediate_group");
  return p;
}

Handle simple_space(const std::vector<uint64_t>& dims) {
  if (dims.empty()) return Handle(check(H5Screate(H5S_SCALAR), "H5Screate"));
  std::vector<hsize_t> d(dims.begin(), dims.end());
  return Handle(check(H5Screate_simple(static_cast<int>(d.size()), d.data(), nullptr), "H5Screate_simple"));
}

std::vector<uint64_t> space_dims(hid_t space) {
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0) fail("H5Sget_simple_extent_ndims");
  std::vector<hsize_t> d(static_cast<size_t>(rank));
  if (rank > 0) H5Sget_simple_extent_dims(space, d.data(), nullptr);
  return {d.begin(), d.end()};
}

size_t element_count(const std::vector<uint64_t>& dims) {
  size_t n = 1;
  for (auto d : dims) n *= d;
  return n;
}

std::string shape_text(const std::vector<uint64_t>& dims) {
  if (dims.empty()) return "scalar";
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

}  // namespace detail

using namespace detail;

bool is_hdf5(const std::string& path) {
  init();
  const htri_t r = H5Fis_hdf5(path.c_str());
  H5Eclear2(H5E_DEFAULT);
  return r > 0;
}

template <>
hid native_type<int32_t>() {
  init();
  return H5T_NATIVE_INT32;
}
template <>
hid native_type<int64_t>() {
  init();
  return H5T_NATIVE_INT64;
}
template <>
hid native_type<uint8_t>() {
  init();
  return H5T_NATIVE_UINT8;
}
template <>
hid native_type<float>() {
  init();
  return H5T_NATIVE_FLOAT;
}
template <>
hid native_type<double>() {
  init();
  return H5T_NATIVE_DOUBLE;
}

// ---- Handle ----

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    Handle tmp(std::move(*this));
    id_ = o.id_;
    o.id_ = -1;
  }
  return *this;
}

Handle::~Handle() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: break;  // a predefined or already-closed id
  }
}

// ---- Object ----

std::string Object::path() const { return object_name(id()); }
std::string Object::file_name() const { return file_of(id()); }

bool Object::has_attribute(const std::string& name) const {
  const htri_t r = H5Aexists(id(), name.c_str());
  if (r < 0) fail(fmt::format("{}: cannot look up attribute '{}'", where(id(), ""), name));
  return r > 0;
}

void Object::set_attribute_raw(const std::string& name, const detail::Raw& raw) {
  const std::string at = fmt::format("{}: attribute '{}'", where(id(), ""), name);
  if (has_attribute(name)) check_status(H5Adelete(id(), name.c_str()), at + ": cannot replace");
  Handle space = simple_space(raw.dims);
  Handle attr(check(H5Acreate2(id(), name.c_str(), raw.type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                    at + ": cannot create"));
  check_status(H5Awrite(attr.get(), raw.type, raw.data), at + ": cannot write");
}

void Object::set_attribute_strings(const std::string& name, const std::vector<std::string>& values) {
  const std::string at = fmt::format("{}: attribute '{}'", where(id(), ""), name);
  if (has_attribute(name)) check_status(H5Adelete(id(), name.c_str()), at + ": cannot replace");
  Handle type = string_type();
  Handle space = simple_space({});
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  Handle attr(check(H5Acreate2(id(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                    at + ": cannot create"));
  check_status(H5Awrite(attr.get(), type.get(), ptrs.data()), at + ": cannot write");
}

std::vector<uint64_t> Object::attribute_dims(const std::string& name, hid mem_type, void* out,
                                             size_t capacity) const {
  const std::string at = fmt::format("{}: attribute '{}'", where(id(), ""), name);
  if (!has_attribute(name)) throw Error(at + ": missing");
  Handle attr(check(H5Aopen(id(), name.c_str(), H5P_DEFAULT), at + ": cannot open"));
  Handle space(check(H5Aget_space(attr.get()), at + ": no dataspace"));
  auto dims = space_dims(space.get());
  if (!out) return dims;
  if (element_count(dims) > capacity) {
    throw Error(fmt::format("{}: shape {} does not fit the requested value", at, shape_text(dims)));
  }
  check_status(H5Aread(attr.get(), mem_type, out), at + ": cannot read as the requested type");
  return dims;
}

std::vector<std::string> Object::attribute_strings(const std::string& name, bool scalar) const {
  const std::string at = fmt::format("{}: attribute '{}'", where(id(), ""), name);
  if (!has_attribute(name)) throw Error(at + ": missing");
  Handle attr(check(H5Aopen(id(), name.c_str(), H5P_DEFAULT), at + ": cannot open"));
  Handle ftype(check(H5Aget_type(attr.get()), at + ": no type"));
  if (H5Tget_class(ftype.get()) != H5T_STRING) throw Error(at + ": expected a string");
  Handle space(check(H5Aget_space(attr.get()), at + ": no dataspace"));
  const size_t n = element_count(space_dims(space.get()));
  if (scalar && n != 1) throw Error(at + ": expected one string");
  return read_any_strings(ftype.get(), n, [&](hid_t mem, void* buf) {
    check_status(H5Aread(attr.get(), mem, buf), at + ": cannot read");
  });
}

// ---- CompoundType ----

CompoundType::CompoundType(size_t record_size) : size_(record_size) {
  init();
  handle_ = Handle(check(H5Tcreate(H5T_COMPOUND, record_size), "H5Tcreate(H5T_COMPOUND)"));
  string_type_ = string_type();
}

CompoundType& CompoundType::add_member(const std::string& name, size_t offset, hid type) {
  check_status(H5Tinsert(handle_.get(), name.c_str(), offset, type),
               fmt::format("compound type: cannot add member '{}' at offset {}", name, offset));
  return *this;
}

CompoundType& CompoundType::add_string(const std::string& name, size_t offset) {
  return add_member(name, offset, string_type_.get());
}

// ---- ElementType ----

std::string ElementType::text() const {
  switch (kind) {
    case Kind::kInteger: return fmt::format("{}int{}", is_signed ? "" : "u", size * 8);
    case Kind::kFloat: return fmt::format("float{}", size * 8);
    case Kind::kString: return "string";
    case Kind::kCompound: return "compound";
    case Kind::kOther: break;
  }
  return "other";
}

// ---- DataSet ----

std::vector<uint64_t> DataSet::dims() const {
  Handle space(check(H5Dget_space(id()), where(id(), "") + ": no dataspace"));
  return space_dims(space.get());
}

size_t DataSet::size() const {
  const auto d = dims();
  return d.empty() ? 1 : d[0];
}

ElementType DataSet::element_type() const {
  Handle type(check(H5Dget_type(id()), where(id(), "") + ": no type"));
  ElementType e;
  e.size = H5Tget_size(type.get());
  switch (H5Tget_class(type.get())) {
    case H5T_INTEGER:
      e.kind = ElementType::Kind::kInteger;
      e.is_signed = H5Tget_sign(type.get()) == H5T_SGN_2;
      break;
    case H5T_FLOAT:
      e.kind = ElementType::Kind::kFloat;
      e.is_signed = true;
      break;
    case H5T_STRING: e.kind = ElementType::Kind::kString; break;
    case H5T_COMPOUND: e.kind = ElementType::Kind::kCompound; break;
    default: break;
  }
  return e;
}

Storage DataSet::storage() const {
  Handle dcpl(check(H5Dget_create_plist(id()), where(id(), "") + ": no creation properties"));
  Storage s;
  s.contiguous = H5Pget_layout(dcpl.get()) == H5D_CONTIGUOUS;
  s.filters = H5Pget_nfilters(dcpl.get());
  if (s.contiguous) {
    const haddr_t offset = H5Dget_offset(id());
    H5Eclear2(H5E_DEFAULT);  // HADDR_UNDEF (no storage yet) is an answer, not an error
    if (offset != HADDR_UNDEF) s.offset = offset;
  }
  return s;
}

bool DataSet::has_member(const std::string& name) const {
  Handle type(check(H5Dget_type(id()), where(id(), "") + ": no type"));
  return H5Tget_class(type.get()) == H5T_COMPOUND && H5Tget_member_index(type.get(), name.c_str()) >= 0;
}

void DataSet::append(const CompoundType& type, const void* records, size_t n) {
  if (n == 0) return;
  const std::string at = where(id(), "");
  const hsize_t old = size();
  const hsize_t grown = old + n;
  check_status(H5Dset_extent(id(), &grown), at + ": cannot extend (is it a table made by create_table?)");
  Handle fspace(check(H5Dget_space(id()), at + ": no dataspace"));
  const hsize_t count = n;
  check_status(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, &old, nullptr, &count, nullptr),
               at + ": cannot select the new rows");
  Handle mspace = simple_space({n});
  check_status(H5Dwrite(id(), type.id(), mspace.get(), fspace.get(), H5P_DEFAULT, records),
               at + ": cannot write records");
}

void DataSet::write(const CompoundType& type, const void* records, size_t first, size_t n) {
  write_slab(type.id(), records, first, n);
}

void DataSet::write_slab(hid mem_type, const void* data, size_t first, size_t n) {
  if (n == 0) return;
  const std::string at = where(id(), "");
  const auto shape = dims();
  if (shape.empty() || first + n > shape[0]) {
    throw Error(fmt::format("{}: rows [{}, {}) written, the dataset has {}", at, first, first + n,
                            shape.empty() ? 0 : shape[0]));
  }
  Handle fspace(check(H5Dget_space(id()), at + ": no dataspace"));
  std::vector<hsize_t> start(shape.size(), 0), count(shape.begin(), shape.end());
  start[0] = first;
  count[0] = n;
  check_status(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
               at + ": cannot select rows");
  Handle mspace = simple_space({count.begin(), count.end()});
  check_status(H5Dwrite(id(), mem_type, mspace.get(), fspace.get(), H5P_DEFAULT, data), at + ": cannot write rows");
}

void DataSet::read(const CompoundType& type, void* out, size_t first, size_t n) const {
  if (n == 0) return;
  const std::string at = where(id(), "");
  if (first + n > size()) {
    throw Error(fmt::format("{}: rows [{}, {}) requested, the table has {}", at, first, first + n, size()));
  }
  Handle fspace(check(H5Dget_space(id()), at + ": no dataspace"));
  const hsize_t start = first, count = n;
  check_status(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr),
               at + ": cannot select rows");
  Handle mspace = simple_space({n});
  check_status(H5Dread(id(), type.id(), mspace.get(), fspace.get(), H5P_DEFAULT, out),
               at + ": cannot read records (does the file's row type match?)");
}

void DataSet::reclaim(const CompoundType& type, void* records, size_t n) const {
  if (n == 0) return;
  Handle mspace = simple_space({n});
  H5Dvlen_reclaim(type.id(), mspace.get(), H5P_DEFAULT, records);
}

}  // namespace qsweep::h5
