// The HDF5 C API behind h5.h, second half: nodes (links, groups, whole datasets) and files (on
// disk and in memory).
#include <fmt/format.h>

#include <fstream>
#include <iterator>

#include "support/h5.h"
#include "support/h5_detail.h"

namespace qsweep::h5 {

using namespace detail;

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
  if (!exists(path)) throw Error(where(id(), path) + ": no such group");
  return Group(Handle(check(H5Gopen2(id(), path.c_str(), H5P_DEFAULT), where(id(), path) + ": not a group")));
}

DataSet Node::dataset(const std::string& path) const {
  if (!exists(path)) throw Error(where(id(), path) + ": no such dataset");
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

DataSet Node::write_raw(const std::string& path, const detail::Raw& raw) {
  if (exists(path)) remove(path);
  Handle lcpl = link_create_props();
  Handle space = simple_space(raw.dims);
  DataSet ds(Handle(check(H5Dcreate2(id(), path.c_str(), raw.type, space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
                          where(id(), path) + ": cannot create dataset")));
  if (element_count(raw.dims) == 0) return ds;
  check_status(H5Dwrite(ds.id(), raw.type, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data),
               where(id(), path) + ": cannot write");
  return ds;
}

DataSet Node::write_strings(const std::string& path, const std::vector<std::string>& values, bool scalar) {
  if (exists(path)) remove(path);
  Handle lcpl = link_create_props();
  Handle type = string_type();
  Handle space = simple_space(scalar ? std::vector<uint64_t>{} : std::vector<uint64_t>{values.size()});
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  DataSet ds(Handle(check(H5Dcreate2(id(), path.c_str(), type.get(), space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
                          where(id(), path) + ": cannot create dataset")));
  if (values.empty()) return ds;
  check_status(H5Dwrite(ds.id(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()),
               where(id(), path) + ": cannot write");
  return ds;
}

DataSet Node::create_contiguous_raw(const std::string& path, hid type, const std::vector<uint64_t>& dims) {
  if (exists(path)) throw Error(where(id(), path) + ": already exists");
  Handle lcpl = link_create_props();
  Handle space = simple_space(dims);
  Handle dcpl(check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate"));
  check_status(H5Pset_layout(dcpl.get(), H5D_CONTIGUOUS), "H5Pset_layout");
  check_status(H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY), "H5Pset_alloc_time");
  check_status(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), "H5Pset_fill_time");
  return DataSet(Handle(check(H5Dcreate2(id(), path.c_str(), type, space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT),
                              where(id(), path) + ": cannot create dataset")));
}

std::vector<uint64_t> Node::read_raw(const std::string& path, hid mem_type, void* out, size_t capacity) const {
  DataSet ds = dataset(path);
  auto dims = ds.dims();
  if (!out) return dims;
  const size_t n = element_count(dims);
  if (n > capacity) {
    throw Error(fmt::format("{}: shape {} does not fit the requested value", where(id(), path), shape_text(dims)));
  }
  if (n == 0) return dims;
  check_status(H5Dread(ds.id(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out),
               where(id(), path) + ": cannot read as the requested type (corrupt or truncated file?)");
  return dims;
}

std::vector<std::string> Node::read_strings(const std::string& path, bool scalar) const {
  DataSet ds = dataset(path);
  const std::string at = where(id(), path);
  Handle ftype(check(H5Dget_type(ds.id()), at + ": no type"));
  if (H5Tget_class(ftype.get()) != H5T_STRING) throw Error(at + ": expected strings");
  const auto dims = ds.dims();
  if (scalar && !dims.empty()) throw Error(fmt::format("{}: expected one string, found shape {}", at, shape_text(dims)));
  return read_any_strings(ftype.get(), element_count(dims), [&](hid_t mem, void* buf) {
    check_status(H5Dread(ds.id(), mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), at + ": cannot read");
  });
}

DataSet Node::create_table(const std::string& path, const CompoundType& type, size_t chunk_rows) {
  if (exists(path)) throw Error(where(id(), path) + ": already exists");
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
  if (!is_hdf5(path)) throw Error(fmt::format("{}: not an HDF5 file (missing or unreadable)", path));
  Handle f(check(H5Fopen(path.c_str(), flags, H5P_DEFAULT),
                 fmt::format("{}: cannot open HDF5 file (truncated or corrupt?)", path)));
  Handle root(check(H5Gopen2(f.get(), "/", H5P_DEFAULT), path + ": no root group"));
  File file(std::move(f), std::move(root), path);
  if (!file.has_attribute("schema_version")) {
    throw Error(fmt::format("{}: no 'schema_version' attribute on '/'; not a qsweep file", path));
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
  if (!is_hdf5(path)) throw Error(fmt::format("{}: not an HDF5 file (missing or unreadable)", path));
  // From our own read of the bytes: the core driver then never opens (nor flocks) the file, so a
  // reader holding it open does not block the change.
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) throw Error(path + ": cannot read the file");
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
  if (n < 0) throw Error(name_ + ": cannot size the file image");
  std::vector<char> bytes(static_cast<size_t>(n));
  if (H5Fget_file_image(file_.get(), bytes.data(), bytes.size()) != n) throw Error(name_ + ": cannot copy the file image");
  return bytes;
}

size_t File::open_objects() const {
  const ssize_t n = H5Fget_obj_count(file_.get(), H5F_OBJ_ALL | H5F_OBJ_LOCAL);
  if (n < 0) fail(name_ + ": cannot count its open objects");
  return static_cast<size_t>(n);
}

void File::flush() { check_status(H5Fflush(file_.get(), H5F_SCOPE_GLOBAL), name_ + ": cannot flush"); }

}  // namespace qsweep::h5
