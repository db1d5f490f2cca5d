// The few HDF5 C API calls shards need, behind RAII handles and typed helpers. Internal to
// src/data (not a public face); the results layer gets the full typed wrapper of STYLE rule 12.
// Every helper throws ShardError naming the file and the object it was working on.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace qsweep::data::h5 {

// Owns one hid_t and closes it with the matching H5*close.
class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept {
    reset();
    id_ = o.id_;
    close_ = o.close_;
    o.id_ = -1;
    return *this;
  }
  hid_t get() const { return id_; }
  void reset() {
    if (id_ >= 0 && close_) close_(id_);
    id_ = -1;
  }

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

// Silences HDF5's automatic error-stack printing while alive; failures surface as ShardError.
class QuietErrors {
 public:
  QuietErrors();
  ~QuietErrors();

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

// Attributes on an object (the file's root group or a dataset).
void write_attr(hid_t obj, const char* name, const std::string& value);
void write_attr(hid_t obj, const char* name, const std::vector<int64_t>& values);
void write_attr(hid_t obj, const char* name, const std::vector<float>& values);
bool has_attr(hid_t obj, const char* name);
std::string read_attr_string(hid_t obj, const char* name, const std::string& file);
std::vector<int64_t> read_attr_ints(hid_t obj, const char* name, const std::string& file);
std::vector<float> read_attr_floats(hid_t obj, const char* name, const std::string& file);

// Datasets of the given shape (contiguous, default properties) written in one call.
void write_dataset(hid_t file, const char* name, const std::vector<hsize_t>& dims, hid_t mem_type, const void* data,
                   const std::string& description);
void write_strings(hid_t file, const char* name, const std::vector<std::string>& values,
                   const std::string& description);
bool has_dataset(hid_t file, const char* name);
// Reads a whole dataset converted to mem_type; returns its dims.
std::vector<hsize_t> dataset_dims(hid_t file, const char* name, const std::string& path);
void read_dataset(hid_t file, const char* name, hid_t mem_type, void* out, const std::string& path);
std::vector<std::string> read_strings(hid_t file, const char* name, const std::string& path);

}  // namespace qsweep::data::h5
