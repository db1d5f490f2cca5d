#include "data/shard/batch_reader.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace qsweep::data {

BatchReader::BatchReader(Shard shard, int64_t batch_size, int64_t begin, int64_t end)
    : shard_(std::move(shard)),
      batch_size_(batch_size),
      begin_(begin),
      end_(end < 0 ? shard_.size() : end),
      pos_(begin) {
  const auto& info = shard_.info();
  if (batch_size_ <= 0) throw ShardError(fmt::format("{}: batch size {} must be positive", info.path, batch_size_));
  if (begin_ < 0 || begin_ > end_ || end_ > info.count) {
    throw ShardError(
        fmt::format("{}: range {}..{} outside the shard's {} images", info.path, begin_, end_, info.count));
  }
  lut_.resize(static_cast<size_t>(info.channels) * 256);
  for (int64_t c = 0; c < info.channels; ++c) {
    for (int v = 0; v < 256; ++v) {
      const float x = static_cast<float>(v) / 255.f;
      lut_[c * 256 + v] = (x - info.mean[c]) / info.std[c];
    }
  }
  const int64_t b = std::min(batch_size_, std::max<int64_t>(end_ - begin_, 1));
  images_buf_ = at::empty({b, info.channels, info.height, info.width}, at::kFloat);
  labels_buf_ = at::empty({b}, at::kLong);
}

const Batch* BatchReader::next() {
  if (pos_ >= end_) return nullptr;
  const auto& info = shard_.info();
  const int64_t n = std::min(batch_size_, end_ - pos_);
  const int64_t plane = info.height * info.width;
  const uint8_t* src = shard_.image_data(pos_);
  float* dst = images_buf_.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = 0; c < info.channels; ++c) {
      const float* lut = &lut_[c * 256];
      const uint8_t* s = src + (i * info.channels + c) * plane;
      float* d = dst + (i * info.channels + c) * plane;
      for (int64_t k = 0; k < plane; ++k) d[k] = lut[s[k]];
    }
  }
  labels_buf_.narrow(0, 0, n).copy_(shard_.labels(pos_, n));
  const bool full = n == images_buf_.size(0);
  batch_.images = full ? images_buf_ : images_buf_.narrow(0, 0, n);
  batch_.labels = full ? labels_buf_ : labels_buf_.narrow(0, 0, n);
  batch_.begin = pos_;
  pos_ += n;
  return &batch_;
}

std::vector<at::Tensor> load_calibration_batches(const Shard& calib, int64_t batch_size) {
  BatchReader reader(calib, batch_size);
  std::vector<at::Tensor> out;
  while (const Batch* b = reader.next()) out.push_back(b->images.clone());
  return out;
}

}  // namespace qsweep::data
