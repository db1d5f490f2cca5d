// `qsweep prepare`: turns a raw dataset into shards (shard.h) once, so that every task of every
// sweep reads the same preprocessed, fingerprinted bytes.
//
//   FashionMnistPrepareOptions f;  f.out = "shards/fmnist";
//   prepare_fashion_mnist(f);
//     -> val.h5 (the 10 000 test images), calib.h5 (1024 seeded train images), train.h5 (60 000)
//   ImageNetPrepareOptions o;  o.root = "/data/imagenet";  o.out = "shards/imagenet";
//   SingleProcess one;  // or a dist::World under mpirun
//   prepare_imagenet(o, one);
//     -> val.h5 (val/ with Resize(256)+CenterCrop(224)), calib.h5 (train/ RandomResizedCrop+flip)
//
// Calibration choice (both datasets): SampleRng(seed, 0) draws `calib_count` distinct training
// images (choose_without_replacement, in draw order); ImageNet crops image i of that list with
// SampleRng(seed, 1 + i), so the set does not depend on how many ranks prepared it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/prepare/collective.h"
#include "data/sources/jpeg_decode.h"
#include "data/shard/shard.h"

namespace qsweep::data {

inline constexpr uint64_t kDefaultCalibSeed = 1005;  // MQBench's seed_all(1005), SPEC §4

struct FashionMnistPrepareOptions {
  std::string root = "/usr/share/datasets/fashion-mnist";
  std::string out;
  int64_t calib_count = 1024;
  uint64_t seed = kDefaultCalibSeed;
  bool train = true;  // also write the full train split (for `qsweep train`)
};

std::vector<ShardInfo> prepare_fashion_mnist(const FashionMnistPrepareOptions& opt);

struct ImageNetPrepareOptions {
  std::string root;  // holds val/<wnid>/*.JPEG and train/<wnid>/*.JPEG
  std::string out;
  int64_t calib_count = 1024;
  uint64_t seed = kDefaultCalibSeed;
  bool skip_bad = false;  // skip and count undecodable files instead of stopping
  int64_t max_image_pixels = kDefaultMaxImagePixels;  // larger JPEG headers are refused undecoded
  bool val = true, calib = true;
  bool progress = true;
  int64_t resize = 256, crop = 224;
};

struct PrepareReport {
  std::vector<ShardInfo> shards;     // rank 0 only
  std::vector<std::string> skipped;  // rank 0 only: "path: reason"
};

PrepareReport prepare_imagenet(const ImageNetPrepareOptions& opt, Collective& world);

// Creates the output folder; throws DataError naming it when that is impossible.
void ensure_output_dir(const std::string& out);

}  // namespace qsweep::data
