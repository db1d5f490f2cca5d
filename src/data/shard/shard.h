// Dataset shards: one HDF5 file per split (val.h5, calib.h5, train.h5) holding the preprocessed
// images as uint8 NCHW in one contiguous dataset, so every rank memory-maps the same bytes and a
// node's page cache holds one copy however many ranks read it.
//
//   Shard val = Shard::open("shards/imagenet/val.h5");
//   at::Tensor x = val.images_u8(0, 64);     // [64, 3, 224, 224] uint8, zero-copy view of the map
//   at::Tensor y = val.labels(0, 64);        // [64] int64
//   BatchReader reader(val, 64);             // normalised float batches, see batch_reader.h
//
// Layout (schema_version 1; `h5dump -H val.h5` shows it):
//   /images       uint8 [N, C, H, W], contiguous (no chunks, no filters), attribute `layout`
//   /labels       int64 [N], class index into /class_names
//   /class_names  variable-length UTF-8 strings [K] (ImageNet wnids, Fashion-MNIST names)
//   /files        strings [N]: source file of each image, relative to the dataset root (ImageNet)
//   /source_index int64 [N]: index of each image in the source split (Fashion-MNIST)
//   /crop_boxes   int64 [N, 4] top, left, height, width in source pixels   (calibration only)
//   /flips        uint8 [N]: 1 = mirrored after the crop                    (calibration only)
//   /fallback     uint8 [N]: 1 = RandomResizedCrop fell back to its centre crop (calibration only)
//   root attributes: schema_version, split, source, transform, mean [C], std [C], image_size
//   [C, H, W], count, fingerprint ("sha256:<hex>", see ShardWriter), seed (calibration), created_by.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/data_error.h"

namespace qsweep::data {

inline constexpr int64_t kShardSchemaVersion = 1;

// A shard that is missing, truncated, corrupt, of another schema, or not laid out for mapping.
class ShardError : public DataError {
 public:
  using DataError::DataError;
};

struct ShardInfo {
  std::string path, split, source, transform, fingerprint;
  int64_t count = 0, channels = 0, height = 0, width = 0;
  int64_t seed = -1;  // calibration shards: the sampling seed; -1 otherwise
  std::vector<float> mean, std;
  std::vector<std::string> class_names;
  int64_t image_bytes() const { return channels * height * width; }
};

// What a writer records besides pixels and labels; the optional vectors are empty or have one
// entry per image.
struct ShardProvenance {
  std::vector<std::string> files;
  std::vector<int64_t> source_index;
  std::vector<std::array<int64_t, 4>> crop_boxes;  // top, left, height, width
  std::vector<uint8_t> flips, fallback;
};

class Shard {
 public:
  // Validates the layout and maps /images read-only-shared (private copy-on-write, so a stray
  // write never reaches the file). Throws ShardError naming the path and what was expected.
  static Shard open(const std::string& path);

  const ShardInfo& info() const { return info_; }
  int64_t size() const { return info_.count; }
  // Zero-copy uint8 view [n, C, H, W] of images begin..begin+n; it keeps the mapping alive.
  at::Tensor images_u8(int64_t begin, int64_t n) const;
  const uint8_t* image_data(int64_t index) const;
  // [n] int64, a view of labels held in memory.
  at::Tensor labels(int64_t begin, int64_t n) const;
  // Per-image records (files, boxes, flips) read on demand; empty vectors where absent.
  ShardProvenance provenance() const;
  // Recomputes the content fingerprint over the mapped images and the labels and throws
  // ShardError if it differs from the stored one (a corrupted or altered file).
  void verify() const;

 private:
  struct Mapping;
  ShardInfo info_;
  std::shared_ptr<const Mapping> map_;
  at::Tensor labels_;
  void check_range(int64_t begin, int64_t n) const;
};

// Writes a shard whose image count need not be known in advance (prepare may skip bad files):
// images stream into `<path>.partial`, and finish() builds `<path>.tmp` with exact shapes and
// renames it to `path`, so a shard on disk is always complete. The fingerprint is
// sha256( sha256(all image bytes in order) || sha256(labels as little-endian int64) ).
class ShardWriter {
 public:
  // `info.count` is ignored (the appended count is used); path, split, source, transform,
  // channels/height/width, mean/std, class_names and seed are recorded.
  explicit ShardWriter(ShardInfo info);
  ~ShardWriter();
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;

  // n images of C*H*W bytes each, and their labels.
  void append(const uint8_t* images, const int64_t* labels, int64_t n);
  int64_t count() const;
  // Writes the file; provenance vectors must be empty or hold count() entries. Returns the info.
  ShardInfo finish(const ShardProvenance& provenance = {});

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// The fingerprint rule, shared by ShardWriter and Shard::verify:
// "sha256:" + hex(sha256(images_sha256 || labels as little-endian int64)).
std::string shard_fingerprint(const std::array<uint8_t, 32>& images_sha256, const int64_t* labels, int64_t n);

}  // namespace qsweep::data
