// What the two halves of the HDF5 layer (h5.cpp: values, attributes, datasets; h5_node.cpp:
// nodes and files) share. Internal to support/h5*.cpp: it includes hdf5.h.
#pragma once

#include <hdf5.h>

#include <cstring>
#include <string>
#include <vector>

#include "support/h5.h"

namespace qsweep::h5::detail {

// Opens the library once and switches its automatic error printing off (errors become exceptions).
void init();
// Throws h5::Error "<what> (HDF5: <stack, innermost first>)" and clears HDF5's error stack.
[[noreturn]] void fail(const std::string& what);
hid_t check(hid_t id, const std::string& what);
void check_status(herr_t status, const std::string& what);
// "results/demo.h5:/task/ab12/scale"
std::string where(hid_t loc, const std::string& path);
std::string object_name(hid_t id);
std::string file_of(hid_t id);
// Variable-length UTF-8 strings.
Handle string_type();
Handle link_create_props();
Handle simple_space(const std::vector<uint64_t>& dims);
std::vector<uint64_t> space_dims(hid_t space);
std::string shape_text(const std::vector<uint64_t>& dims);
// Reads `n` strings (fixed- or variable-length, per `file_type`) through `read(mem_type, buffer)`.
template <class Read>
std::vector<std::string> read_any_strings(hid_t file_type, size_t n, Read&& read);

// ---- template definitions ----

template <class Read>
std::vector<std::string> read_any_strings(hid_t file_type, size_t n, Read&& read) {
  std::vector<std::string> out;
  if (n == 0) return out;
  out.reserve(n);
  if (H5Tis_variable_str(file_type) > 0) {
    std::vector<char*> ptrs(n, nullptr);
    Handle type = string_type();
    check_status(H5Tset_cset(type.get(), H5Tget_cset(file_type)), "H5Tset_cset");
    read(type.get(), ptrs.data());
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    Handle space = simple_space({n});
    H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, ptrs.data());
    return out;
  }
  // Fixed-length (shards written before the one HDF5 layer): read with one byte more per string
  // for a terminating NUL, in the file's character set (HDF5 converts within one only).
  const size_t width = H5Tget_size(file_type) + 1;
  Handle type(check(H5Tcopy(H5T_C_S1), "H5Tcopy"));
  check_status(H5Tset_size(type.get(), width), "H5Tset_size");
  check_status(H5Tset_cset(type.get(), H5Tget_cset(file_type)), "H5Tset_cset");
  std::vector<char> buf(width * n, '\0');
  read(type.get(), buf.data());
  for (size_t i = 0; i < n; ++i) {
    const char* s = buf.data() + i * width;
    out.emplace_back(s, strnlen(s, width));
  }
  return out;
}

}  // namespace qsweep::h5::detail
