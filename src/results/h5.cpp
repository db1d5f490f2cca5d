// The HDF5 C API behind h5.h: handles, type mapping, datasets, attributes, tables, and error
// messages built from HDF5's error stack (automatic printing is switched off once, here).
#include "results/h5.h"

#include <fstream>
#include <iterator>

#include <hdf5.h>

#include <fmt/format.h>

#include <cstring>
#include <mutex>

namespace qsweep::results::h5 {

static_assert(std::is_same_v<hid, hid_t>, "h5::hid must be HDF5's hid_t (HDF5 >= 1.10)");
static_assert(sizeof(uint64_t) == sizeof(hsize_t), "hsize_t must be 64-bit");

namespace {

void init() {
  static std::once_flag once;
  std::call_once(once, [] {
    H5open();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors become exceptions, not stderr noise
  });
}

herr_t collect_error(unsigned n, const H5E_error2_t* e, void* data) {
  auto* out = static_cast<std::string*>(data);
  if (n > 0) *out += "; ";
  *out += fmt::format("{}(): {}", e->func_name ? e->func_name : "?", e->desc ? e->desc : "?");
  return 0;
}

// "<what>: <HDF5 stack, innermost first>" from the current thread's error stack.
[[noreturn]] void fail(const std::string& what) {
  std::string stack;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &stack);
  H5Eclear2(H5E_DEFAULT);
  throw H5Error(stack.empty() ? what : fmt::format("{} (HDF5: {})", what, stack));
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

// "results/demo.h5:/task/ab12/scale"
std::string where(hid_t loc, const std::string& path) {
  std::string base = object_name(loc);
  std::string full = path.empty() || path.front() == '/' ? path
                     : base == "/"                       ? "/" + path
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

}  // namespace

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
  if (!has_attribute(name)) throw H5Error(at + ": missing");
  Handle attr(check(H5Aopen(id(), name.c_str(), H5P_DEFAULT), at + ": cannot open"));
  Handle space(check(H5Aget_space(attr.get()), at + ": no dataspace"));
  auto dims = space_dims(space.get());
  if (!out) return dims;
  if (element_count(dims) > capacity) {
    throw H5Error(fmt::format("{}: shape {} does not fit the requested value", at, shape_text(dims)));
  }
  check_status(H5Aread(attr.get(), mem_type, out), at + ": cannot read as the requested type");
  return dims;
}

std::vector<std::string> Object::attribute_strings(const std::string& name, bool scalar) const {
  const std::string at = fmt::format("{}: attribute '{}'", where(id(), ""), name);
  if (!has_attribute(name)) throw H5Error(at + ": missing");
  Handle attr(check(H5Aopen(id(), name.c_str(), H5P_DEFAULT), at + ": cannot open"));
  Handle ftype(check(H5Aget_type(attr.get()), at + ": no type"));
  if (H5Tget_class(ftype.get()) != H5T_STRING || !H5Tis_variable_str(ftype.get())) {
    throw H5Error(at + ": expected a variable-length string");
  }
  Handle space(check(H5Aget_space(attr.get()), at + ": no dataspace"));
  const size_t n = element_count(space_dims(space.get()));
  std::vector<char*> ptrs(n, nullptr);
  Handle type = string_type();
  check_status(H5Aread(attr.get(), type.get(), ptrs.data()), at + ": cannot read");
  std::vector<std::string> out;
  for (char* p : ptrs) out.emplace_back(p ? p : "");
  Handle mspace = simple_space({n});
  H5Dvlen_reclaim(type.get(), mspace.get(), H5P_DEFAULT, ptrs.data());
  if (scalar && out.size() != 1) throw H5Error(at + ": expected one string");
  return out;
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

// ---- DataSet ----

size_t DataSet::size() const {
  Handle space(check(H5Dget_space(id()), where(id(), "") + ": no dataspace"));
  auto dims = space_dims(space.get());
  return dims.empty() ? 1 : dims[0];
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
  if (n == 0) return;
  const std::string at = where(id(), "");
  if (first + n > size()) {
    throw H5Error(fmt::format("{}: rows [{}, {}) written, the table has {}", at, first, first + n, size()));
  }
  Handle fspace(check(H5Dget_space(id()), at + ": no dataspace"));
  const hsize_t start = first, count = n;
  check_status(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr),
               at + ": cannot select rows");
  Handle mspace = simple_space({n});
  check_status(H5Dwrite(id(), type.id(), mspace.get(), fspace.get(), H5P_DEFAULT, records),
               at + ": cannot write records");
}

void DataSet::read(const CompoundType& type, void* out, size_t first, size_t n) const {
  if (n == 0) return;
  const std::string at = where(id(), "");
  if (first + n > size()) {
    throw H5Error(fmt::format("{}: rows [{}, {}) requested, the table has {}", at, first, first + n, size()));
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

// ---- Node ----

bool Node::exists(const std::string& path) const {
  if (path.empty() || path == "." || path == "/") return true;
  // H5Lexists fails (rather than answering false) when a parent is missing: walk down.
  std::string prefix = path.front() == '/' ? "/" : "";
  size_t pos = prefix.size();
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    if (next > pos) {
      prefix += (prefix.empty() || prefix.back() == '/' ? "" : "/") + path.substr(pos, next - pos);
      const htri_t r = H5Lexists(id(), prefix.c_str(), H5P_DEFAULT);
      if (r < 0) fail(fmt::format("{}: cannot look up", where(id(), prefix)));
      if (r == 0) return false;
    }
    pos = next + 1;
  }
  return true;
}

Group Node::group(const std::string& path) {
  if (exists(path)) return open_group(path);
  Handle lcpl = link_create_props();
  return Group(Handle(check(H5Gcreate2(id(), path.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
                            where(id(), path) + ": cannot create group")));
}

Group Node::open_group(const std::string& path) const {
  if (!exists(path)) throw H5Error(where(id(), path) + ": no such group");
  return Group(Handle(check(H5Gopen2(id(), path.c_str(), H5P_DEFAULT), where(id(), path) + ": not a group")));
}

DataSet Node::dataset(const std::string& path) const {
  if (!exists(path)) throw H5Error(where(id(), path) + ": no such dataset");
  return DataSet(Handle(check(H5Dopen2(id(), path.c_str(), H5P_DEFAULT), where(id(), path) + ": not a dataset")));
}

namespace {
herr_t collect_link(hid_t, const char* name, const H5L_info_t*, void* data) {
  static_cast<std::vector<std::string>*>(data)->emplace_back(name);
  return 0;
}
}  // namespace

std::vector<std::string> Node::children(const std::string& path) const {
  Handle g(check(H5Gopen2(id(), path.c_str(), H5P_DEFAULT), where(id(), path) + ": not a group"));
  std::vector<std::string> names;
  check_status(H5Literate(g.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_link, &names),
               where(id(), path) + ": cannot list");
  return names;
}

void Node::remove(const std::string& path) {
  check_status(H5Ldelete(id(), path.c_str(), H5P_DEFAULT), where(id(), path) + ": cannot remove");
}

void Node::write_raw(const std::string& path, const detail::Raw& raw) {
  if (exists(path)) remove(path);
  Handle lcpl = link_create_props();
  Handle space = simple_space(raw.dims);
  Handle ds(check(H5Dcreate2(id(), path.c_str(), raw.type, space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
                  where(id(), path) + ": cannot create dataset"));
  if (element_count(raw.dims) == 0) return;
  check_status(H5Dwrite(ds.get(), raw.type, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data),
               where(id(), path) + ": cannot write");
}

void Node::write_strings(const std::string& path, const std::vector<std::string>& values, bool scalar) {
  if (exists(path)) remove(path);
  Handle lcpl = link_create_props();
  Handle type = string_type();
  Handle space = simple_space(scalar ? std::vector<uint64_t>{} : std::vector<uint64_t>{values.size()});
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  Handle ds(check(H5Dcreate2(id(), path.c_str(), type.get(), space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
                  where(id(), path) + ": cannot create dataset"));
  if (values.empty()) return;
  check_status(H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()),
               where(id(), path) + ": cannot write");
}

std::vector<uint64_t> Node::read_raw(const std::string& path, hid mem_type, void* out, size_t capacity) const {
  DataSet ds = dataset(path);
  Handle space(check(H5Dget_space(ds.id()), where(id(), path) + ": no dataspace"));
  auto dims = space_dims(space.get());
  if (!out) return dims;
  const size_t n = element_count(dims);
  if (n > capacity) {
    throw H5Error(fmt::format("{}: shape {} does not fit the requested value", where(id(), path), shape_text(dims)));
  }
  if (n == 0) return dims;
  check_status(H5Dread(ds.id(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out),
               where(id(), path) + ": cannot read as the requested type");
  return dims;
}

std::vector<std::string> Node::read_strings(const std::string& path, bool scalar) const {
  DataSet ds = dataset(path);
  const std::string at = where(id(), path);
  Handle ftype(check(H5Dget_type(ds.id()), at + ": no type"));
  if (H5Tget_class(ftype.get()) != H5T_STRING || !H5Tis_variable_str(ftype.get())) {
    throw H5Error(at + ": expected variable-length strings");
  }
  Handle space(check(H5Dget_space(ds.id()), at + ": no dataspace"));
  auto dims = space_dims(space.get());
  if (scalar && !dims.empty()) throw H5Error(fmt::format("{}: expected one string, found shape {}", at, shape_text(dims)));
  const size_t n = element_count(dims);
  std::vector<char*> ptrs(n, nullptr);
  std::vector<std::string> out;
  if (n == 0) return out;
  Handle type = string_type();
  check_status(H5Dread(ds.id(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), at + ": cannot read");
  for (char* p : ptrs) out.emplace_back(p ? p : "");
  H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, ptrs.data());
  return out;
}

DataSet Node::create_table(const std::string& path, const CompoundType& type, size_t chunk_rows) {
  if (exists(path)) throw H5Error(where(id(), path) + ": already exists");
  Handle lcpl = link_create_props();
  const hsize_t zero = 0, unlimited = H5S_UNLIMITED, chunk = chunk_rows ? chunk_rows : 1;
  Handle space(check(H5Screate_simple(1, &zero, &unlimited), "H5Screate_simple"));
  Handle dcpl(check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate"));
  check_status(H5Pset_chunk(dcpl.get(), 1, &chunk), "H5Pset_chunk");
  return DataSet(Handle(check(H5Dcreate2(id(), path.c_str(), type.id(), space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT),
                              where(id(), path) + ": cannot create table")));
}

// ---- File ----

File::File(Handle file, Handle root, std::string name)
    : Node(std::move(root)), file_(std::move(file)), name_(std::move(name)) {}

File File::create(const std::string& path, int schema_version) {
  init();
  Handle f(check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                 fmt::format("{}: cannot create HDF5 file", path)));
  Handle root(check(H5Gopen2(f.get(), "/", H5P_DEFAULT), path + ": no root group"));
  File file(std::move(f), std::move(root), path);
  file.set_attribute("schema_version", static_cast<int32_t>(schema_version));
  file.flush();
  return file;
}

File File::open(const std::string& path, Mode mode) {
  init();
  const unsigned flags = mode == Mode::kReadWrite ? H5F_ACC_RDWR : H5F_ACC_RDONLY;
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw H5Error(fmt::format("{}: not an HDF5 file (missing or unreadable)", path));
  }
  Handle f(check(H5Fopen(path.c_str(), flags, H5P_DEFAULT), fmt::format("{}: cannot open HDF5 file", path)));
  Handle root(check(H5Gopen2(f.get(), "/", H5P_DEFAULT), path + ": no root group"));
  File file(std::move(f), std::move(root), path);
  if (!file.has_attribute("schema_version")) {
    throw H5Error(fmt::format("{}: no 'schema_version' attribute on '/'; not a qsweep file", path));
  }
  return file;
}

namespace {

// A file-access property list for the core driver without a backing store.
Handle in_memory_fapl() {
  Handle fapl(check(H5Pcreate(H5P_FILE_ACCESS), "cannot create a file-access property list"));
  check_status(H5Pset_fapl_core(fapl.get(), 1 << 20, 0), "cannot select HDF5's in-memory driver");
  return fapl;
}

}  // namespace

File File::create_in_memory(const std::string& name, int schema_version) {
  init();
  const Handle fapl = in_memory_fapl();
  Handle f(check(H5Fcreate(name.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()),
                 fmt::format("{}: cannot create HDF5 file in memory", name)));
  Handle root(check(H5Gopen2(f.get(), "/", H5P_DEFAULT), name + ": no root group"));
  File file(std::move(f), std::move(root), name);
  file.set_attribute("schema_version", static_cast<int32_t>(schema_version));
  return file;
}

File File::open_in_memory(const std::string& path) {
  init();
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw H5Error(fmt::format("{}: not an HDF5 file (missing or unreadable)", path));
  }
  // From our own read of the bytes: the core driver then never opens (nor flocks) the file, so a
  // reader holding it open does not block the change.
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) throw H5Error(path + ": cannot read the file");
  const Handle fapl = in_memory_fapl();
  check_status(H5Pset_file_image(fapl.get(), bytes.data(), bytes.size()), path + ": cannot hand HDF5 the file image");
  // The core driver refuses an image under the name of a file that exists: give it another.
  const std::string name = path + " (in memory)";
  Handle f(check(H5Fopen(name.c_str(), H5F_ACC_RDWR, fapl.get()), fmt::format("{}: cannot open HDF5 file", path)));
  Handle root(check(H5Gopen2(f.get(), "/", H5P_DEFAULT), path + ": no root group"));
  return File(std::move(f), std::move(root), path);
}

std::vector<char> File::image() const {
  const ssize_t n = H5Fget_file_image(file_.get(), nullptr, 0);
  if (n < 0) throw H5Error(name_ + ": cannot size the file image");
  std::vector<char> bytes(static_cast<size_t>(n));
  if (H5Fget_file_image(file_.get(), bytes.data(), bytes.size()) != n) throw H5Error(name_ + ": cannot copy the file image");
  return bytes;
}

void File::flush() { check_status(H5Fflush(file_.get(), H5F_SCOPE_GLOBAL), name_ + ": cannot flush"); }

}  // namespace qsweep::results::h5
