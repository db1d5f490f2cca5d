// qsweep's one HDF5 layer: a small typed RAII wrapper over the HDF5 C API, shaped like HighFive
// (which bookworm does not package; STYLE rule 12), used by the shards (src/data) and the results
// files (src/results) alike. Values infer their HDF5 type and shape; missing parent groups are
// created; every failure throws h5::Error naming the file and the object, with HDF5's own error
// stack (HDF5's automatic printing is switched off once, on first use).
//
//   auto f = h5::File::create("results/demo.h5", /*schema_version=*/1);
//   f.write("task/ab12/quantizers/conv1.weight_fake_quant/scale", std::vector<float>{0.1f, 0.2f});
//   f.set_attribute("sweep", "demo");
//   auto scale = f.read<std::vector<float>>("task/ab12/quantizers/conv1.weight_fake_quant/scale");
//
// Supported values: int32_t, int64_t, uint8_t, float, double, std::string (variable-length UTF-8
// on write; fixed-length strings are read too) and std::vector of any of them. Vectors are one
// dimension unless written with write_array() and a shape; read<std::vector<T>> returns every
// element of a dataset of any shape in C order. Tables of records go through CompoundType and
// DataSet::append (extendible, chunked, one dimension). Data meant to be memory-mapped goes
// through create_contiguous() and DataSet::storage().
//
// How files reach the disk (atomically, one writer at a time) is h5_commit.h's business.
//
// The hdf5.h header stays out of this file: `hid` is HDF5's hid_t (int64_t since 1.10, checked
// in h5.cpp), so callers do not need HDF5's include directories.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "support/error.h"

namespace qsweep::h5 {

class Error : public qsweep::Error {
 public:
  using qsweep::Error::Error;
};

using hid = int64_t;

// True when `path` exists and starts with an HDF5 signature.
bool is_hdf5(const std::string& path);

// Owns one HDF5 identifier (file, group, dataset, attribute, type, space or property list) and
// closes it with the matching H5?close.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid id) : id_(id) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : id_(o.id_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept;
  ~Handle();
  hid get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid id_ = -1;
};

// The native HDF5 type of a C++ arithmetic type (int32_t, int64_t, uint8_t, float, double).
template <class T>
hid native_type();

namespace detail {
template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};

template <class T>
constexpr bool kNumber = std::is_arithmetic_v<T> && !std::is_same_v<T, bool>;

// A value seen as HDF5 data: element type, shape (empty = scalar) and memory.
struct Raw {
  hid type = -1;
  std::vector<uint64_t> dims;
  const void* data = nullptr;
};

size_t element_count(const std::vector<uint64_t>& dims);
}  // namespace detail

// Anything that carries attributes: files (their root group), groups, datasets.
class Object {
 public:
  hid id() const { return handle_.get(); }
  // The object's path inside its file, e.g. "/task/ab12".
  std::string path() const;
  std::string file_name() const;

  bool has_attribute(const std::string& name) const;
  template <class T>
  void set_attribute(const std::string& name, const T& value);
  void set_attribute(const std::string& name, const char* value) { set_attribute(name, std::string(value)); }
  template <class T>
  T attribute(const std::string& name) const;

 protected:
  Object() = default;
  explicit Object(Handle h) : handle_(std::move(h)) {}
  void set_attribute_raw(const std::string& name, const detail::Raw& raw);
  void set_attribute_strings(const std::string& name, const std::vector<std::string>& values);
  std::vector<uint64_t> attribute_dims(const std::string& name, hid mem_type, void* out, size_t capacity) const;
  std::vector<std::string> attribute_strings(const std::string& name, bool scalar) const;

  Handle handle_;
};

// The layout of one record type, built member by member with offsetof:
//   h5::CompoundType t(sizeof(Rec));
//   t.add<double>("top1", offsetof(Rec, top1)).add_string("id", offsetof(Rec, id));
// String members are `const char*` in memory and variable-length UTF-8 strings in the file.
class CompoundType {
 public:
  explicit CompoundType(size_t record_size);
  template <class T>
  CompoundType& add(const std::string& name, size_t offset) {
    return add_member(name, offset, native_type<T>());
  }
  CompoundType& add_string(const std::string& name, size_t offset);
  hid id() const { return handle_.get(); }
  size_t size() const { return size_; }

 private:
  CompoundType& add_member(const std::string& name, size_t offset, hid type);
  Handle handle_;
  Handle string_type_;
  size_t size_;
};

// What a dataset's elements are in the file.
struct ElementType {
  enum class Kind { kInteger, kFloat, kString, kCompound, kOther };
  Kind kind = Kind::kOther;
  size_t size = 0;  // bytes
  bool is_signed = false;
  template <class T>
  bool is() const {
    static_assert(detail::kNumber<T>);
    return kind == (std::is_integral_v<T> ? Kind::kInteger : Kind::kFloat) && size == sizeof(T) &&
           is_signed == std::is_signed_v<T>;
  }
  std::string text() const;  // "uint8", "float64", "string", ...
};

// How a dataset is stored: a contiguous, unfiltered dataset with storage allocated can be read
// straight from the file at `offset` (memory-mapped) without HDF5.
struct Storage {
  bool contiguous = false;
  int filters = 0;
  std::optional<uint64_t> offset;  // byte offset in the file; none when unallocated or not contiguous
};

// A dataset. Tables (one dimension, extendible) grow with append(); every other dataset is
// written whole through Node::write, or row range by row range (write_rows) after
// Node::create_contiguous.
class DataSet : public Object {
 public:
  explicit DataSet(Handle h) : Object(std::move(h)) {}
  // The shape (empty for a scalar).
  std::vector<uint64_t> dims() const;
  // Number of records (first dimension; 1 for a scalar).
  size_t size() const;
  ElementType element_type() const;
  Storage storage() const;
  // Whether a compound dataset's records have a member of this name.
  bool has_member(const std::string& name) const;

  // Appends `n` records laid out as `type` describes; the dataset must be extendible.
  void append(const CompoundType& type, const void* records, size_t n);
  // Overwrites records [first, first + n), which must exist.
  void write(const CompoundType& type, const void* records, size_t first, size_t n);
  // Reads records [first, first + n) into `out` (n * type.size() bytes). Strings are allocated
  // by HDF5: release them with reclaim() once copied.
  void read(const CompoundType& type, void* out, size_t first, size_t n) const;
  void reclaim(const CompoundType& type, void* records, size_t n) const;

  // Overwrites rows [first, first + n) along the first dimension of a dataset of any shape;
  // `data` holds n rows in C order.
  template <class T>
  void write_rows(size_t first, size_t n, const T* data) {
    static_assert(detail::kNumber<T>, "h5: unsupported element type");
    write_slab(native_type<T>(), data, first, n);
  }

 private:
  void write_slab(hid mem_type, const void* data, size_t first, size_t n);
};

class Group;

// The node API shared by File (its root group) and Group. Paths are relative to the node or
// absolute ("/a/b"); writing creates missing parent groups and replaces an existing dataset.
class Node : public Object {
 public:
  bool exists(const std::string& path) const;
  // Opens `path`, creating it (and its parents) when missing.
  Group group(const std::string& path);
  Group open_group(const std::string& path) const;
  DataSet dataset(const std::string& path) const;
  // Names of the links directly under this node (or under `path`), in name order.
  std::vector<std::string> children(const std::string& path = ".") const;
  void remove(const std::string& path);

  // Writes a value whole; the dataset is returned for its attributes (e.g. a description).
  template <class T>
  DataSet write(const std::string& path, const T& value);
  DataSet write(const std::string& path, const char* value) { return write(path, std::string(value)); }
  // Writes `count(dims)` elements from `data` as a dataset of shape `dims`.
  template <class T>
  DataSet write_array(const std::string& path, const std::vector<uint64_t>& dims, const T* data) {
    static_assert(detail::kNumber<T>, "h5: unsupported element type");
    return write_raw(path, {native_type<T>(), dims, data});
  }
  template <class T>
  T read(const std::string& path) const;

  // A one-dimensional, chunked, unlimited dataset of records, initially empty.
  DataSet create_table(const std::string& path, const CompoundType& type, size_t chunk_rows = 64);
  // A contiguous, unfiltered dataset of shape `dims`, its storage allocated now and never
  // filled (the caller writes every row with DataSet::write_rows), so readers can map it.
  template <class T>
  DataSet create_contiguous(const std::string& path, const std::vector<uint64_t>& dims) {
    static_assert(detail::kNumber<T>, "h5: unsupported element type");
    return create_contiguous_raw(path, native_type<T>(), dims);
  }

 protected:
  Node() = default;
  explicit Node(Handle h) : Object(std::move(h)) {}
  DataSet write_raw(const std::string& path, const detail::Raw& raw);
  DataSet write_strings(const std::string& path, const std::vector<std::string>& values, bool scalar);
  std::vector<uint64_t> read_raw(const std::string& path, hid mem_type, void* out, size_t capacity) const;
  std::vector<std::string> read_strings(const std::string& path, bool scalar) const;
  DataSet create_contiguous_raw(const std::string& path, hid type, const std::vector<uint64_t>& dims);
};

class Group : public Node {
 public:
  explicit Group(Handle h) : Node(std::move(h)) {}
};

class File : public Node {
 public:
  enum class Mode { kReadOnly, kReadWrite };
  // Creates (truncates) `path` and stamps the root attribute `schema_version`.
  static File create(const std::string& path, int schema_version);
  // Opens an existing file; throws h5::Error if it is missing, not HDF5, or has no schema_version.
  static File open(const std::string& path, Mode mode = Mode::kReadOnly);
  // The same two in memory (HDF5's core driver, no backing store): nothing is ever written to
  // disk by HDF5; image() gives the file's bytes for h5_commit.h to write, so a failed write is
  // our own error, never a half-written HDF5 file.
  static File create_in_memory(const std::string& name, int schema_version);
  static File open_in_memory(const std::string& path);
  // The complete file as bytes (after flush()).
  std::vector<char> image() const;
  int schema_version() const { return attribute<int32_t>("schema_version"); }
  // Pushes every buffered change to the operating system (H5Fflush, global scope).
  void flush();
  // Objects of this file open in this process, the file and its root group included (so 2 when
  // nothing else is open): HDF5 closes a file only when the last of them is closed.
  size_t open_objects() const;
  const std::string& name() const { return name_; }

 private:
  File(Handle file, Handle root, std::string name);
  Handle file_;
  std::string name_;
};

// ---- template definitions ----

template <class T>
DataSet Node::write(const std::string& path, const T& value) {
  if constexpr (std::is_same_v<T, std::string>) {
    return write_strings(path, {value}, true);
  } else if constexpr (detail::IsVector<T>::value) {
    using E = typename T::value_type;
    if constexpr (std::is_same_v<E, std::string>) {
      return write_strings(path, value, false);
    } else {
      static_assert(detail::kNumber<E>, "h5: unsupported element type");
      return write_raw(path, {native_type<E>(), {value.size()}, value.data()});
    }
  } else {
    static_assert(detail::kNumber<T>, "h5: unsupported value type");
    return write_raw(path, {native_type<T>(), {}, &value});
  }
}

template <class T>
T Node::read(const std::string& path) const {
  if constexpr (std::is_same_v<T, std::string>) {
    return read_strings(path, true).front();
  } else if constexpr (detail::IsVector<T>::value) {
    using E = typename T::value_type;
    if constexpr (std::is_same_v<E, std::string>) {
      return read_strings(path, false);
    } else {
      static_assert(detail::kNumber<E>, "h5: unsupported element type");
      T out;
      auto dims = read_raw(path, native_type<E>(), nullptr, 0);  // shape only
      out.resize(detail::element_count(dims));
      read_raw(path, native_type<E>(), out.data(), out.size());
      return out;
    }
  } else {
    static_assert(detail::kNumber<T>, "h5: unsupported value type");
    T out{};
    read_raw(path, native_type<T>(), &out, 1);
    return out;
  }
}

template <class T>
void Object::set_attribute(const std::string& name, const T& value) {
  if constexpr (std::is_same_v<T, std::string>) {
    set_attribute_strings(name, {value});
  } else if constexpr (detail::IsVector<T>::value) {
    using E = typename T::value_type;
    static_assert(detail::kNumber<E>, "h5: unsupported attribute element type");
    set_attribute_raw(name, {native_type<E>(), {value.size()}, value.data()});
  } else {
    static_assert(detail::kNumber<T>, "h5: unsupported attribute type");
    set_attribute_raw(name, {native_type<T>(), {}, &value});
  }
}

template <class T>
T Object::attribute(const std::string& name) const {
  if constexpr (std::is_same_v<T, std::string>) {
    return attribute_strings(name, true).front();
  } else if constexpr (detail::IsVector<T>::value) {
    using E = typename T::value_type;
    T out;
    auto dims = attribute_dims(name, native_type<E>(), nullptr, 0);
    out.resize(detail::element_count(dims));
    attribute_dims(name, native_type<E>(), out.data(), out.size());
    return out;
  } else {
    T out{};
    attribute_dims(name, native_type<T>(), &out, 1);
    return out;
  }
}

}  // namespace qsweep::h5
