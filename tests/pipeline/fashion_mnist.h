// Test helper: Debian's Fashion-MNIST idx files as normalised float images, zero-padded to 32×32
// (the demo's input format), and int64 labels.
#pragma once

#include <ATen/ATen.h>

#include <string>

#include "data/sources/idx_file.h"

namespace qsweep::pipeline::testing {

inline const std::string kFashionMnistRoot = "/usr/share/datasets/fashion-mnist/";

inline at::Tensor images(const std::string& file, int64_t n) {
  const auto idx = data::read_idx(kFashionMnistRoot + file);
  auto u8 = at::from_blob(const_cast<uint8_t*>(idx.data.data()), {idx.dims[0], 1, 28, 28}, at::kByte).narrow(0, 0, n);
  return at::constant_pad_nd((u8.to(at::kFloat) / 255.0 - 0.2860) / 0.3530, {2, 2, 2, 2}, 0.0);
}

inline at::Tensor labels(const std::string& file, int64_t n) {
  const auto idx = data::read_idx(kFashionMnistRoot + file);
  return at::from_blob(const_cast<uint8_t*>(idx.data.data()), {idx.dims[0]}, at::kByte).narrow(0, 0, n).to(at::kLong);
}

}  // namespace qsweep::pipeline::testing
