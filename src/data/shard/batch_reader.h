// Normalised float batches from a shard, in the shard's stored order, into buffers allocated
// once: the evaluation loop and calibration read through this.
//
//   BatchReader reader(Shard::open("val.h5"), 64);
//   while (auto* b = reader.next()) model(b->images);   // [B, C, H, W] float32, labels [B] int64
//
// The normalisation is torchvision's ToTensor + Normalize in float32, value by value:
// ((float)pixel / 255.f - mean[c]) / std[c]; because a pixel has only 256 values it is a table
// lookup per channel, bit-identical to the arithmetic. The batch returned by next() is
// overwritten by the following call (the last, shorter batch is a narrowed view of the buffer).
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "data/shard/shard.h"

namespace qsweep::data {

struct Batch {
  at::Tensor images;  // float32 [B, C, H, W]
  at::Tensor labels;  // int64 [B]
  int64_t begin = 0;  // index of the first image in the shard
};

class BatchReader {
 public:
  // Reads images [begin, end) (end -1: to the end of the shard) in batches of batch_size.
  BatchReader(Shard shard, int64_t batch_size, int64_t begin = 0, int64_t end = -1);
  // The next batch, or nullptr after the last one.
  const Batch* next();
  void rewind() { pos_ = begin_; }
  int64_t num_batches() const { return (end_ - begin_ + batch_size_ - 1) / batch_size_; }
  const Shard& shard() const { return shard_; }

 private:
  Shard shard_;
  int64_t batch_size_, begin_, end_, pos_;
  std::vector<float> lut_;  // [C][256]
  at::Tensor images_buf_, labels_buf_;
  Batch batch_;
};

// The whole calibration shard as stored: ceil(N / batch_size) normalised batches (owning
// tensors), e.g. the 16 x [64, 3, 224, 224] that SPEC §4 keeps for calibration and reconstruction.
std::vector<at::Tensor> load_calibration_batches(const Shard& calib, int64_t batch_size);

}  // namespace qsweep::data
