// Reader for idx files (the MNIST / Fashion-MNIST container), plain or gzip-compressed.
//
//   IdxArray images = read_idx("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
//   // images.dims == {10000, 28, 28}, images.data.size() == 7840000
//
// Only unsigned-byte payloads (type code 0x08) occur in these datasets and only they are accepted.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qsweep::data {

struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
};

// Throws DataError naming the path for a missing file, a bad magic number, a non-uint8 payload,
// or a payload shorter or longer than the header promises.
IdxArray read_idx(const std::string& path);

}  // namespace qsweep::data
