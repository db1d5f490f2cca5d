// Fashion-MNIST shards: the idx files of Debian's dataset-fashion-mnist, padded 28x28 -> 32x32
// with zeros (2 pixels per side, the input size of the demo zoo), one channel.
#include <fmt/format.h>

#include <filesystem>

#include "data/sources/idx_file.h"
#include "data/prepare/prepare.h"
#include "data/prepare/sample_rng.h"

namespace qsweep::data {
namespace {

constexpr int64_t kSide = 32, kPad = 2;
const char* kTransform = "pad 28x28 -> 32x32 with 2 zero pixels per side; uint8 CHW, 1 channel";

struct Split {
  IdxArray images, labels;
};

Split read_split(const std::string& root, const std::string& prefix) {
  Split s{read_idx(root + "/" + prefix + "-images-idx3-ubyte.gz"),
          read_idx(root + "/" + prefix + "-labels-idx1-ubyte.gz")};
  const std::string path = root + "/" + prefix + "-images-idx3-ubyte.gz";
  if (s.images.dims.size() != 3 || s.images.dims[1] != 28 || s.images.dims[2] != 28) {
    throw DataError(fmt::format("{}: expected N x 28 x 28 images", path));
  }
  if (s.labels.dims.size() != 1 || s.labels.dims[0] != s.images.dims[0]) {
    throw DataError(fmt::format("{}-labels-idx1-ubyte.gz: expected {} labels", root + "/" + prefix, s.images.dims[0]));
  }
  for (size_t i = 0; i < s.labels.data.size(); ++i) {
    if (s.labels.data[i] >= 10) {
      throw DataError(fmt::format("{}/{}-labels-idx1-ubyte.gz: label {} of item {} is outside Fashion-MNIST's 10 classes",
                                  root, prefix, s.labels.data[i], i));
    }
  }
  return s;
}

ShardInfo write_split(const FashionMnistPrepareOptions& opt, const Split& s, const std::string& split,
                      const std::string& source, const std::vector<int64_t>& order, int64_t seed) {
  ShardInfo info;
  info.path = (std::filesystem::path(opt.out) / (split + ".h5")).string();
  info.split = split;
  info.source = source;
  info.transform = kTransform;
  info.channels = 1;
  info.height = info.width = kSide;
  info.seed = seed;
  // Fashion-MNIST's usual normalisation (mean and std of the train pixels / 255).
  info.mean = {0.2860f};
  info.std = {0.3530f};
  info.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  ShardWriter w(info);
  std::vector<uint8_t> img(kSide * kSide);
  for (int64_t idx : order) {
    std::fill(img.begin(), img.end(), 0);
    const uint8_t* src = s.images.data.data() + idx * 28 * 28;
    for (int64_t y = 0; y < 28; ++y)
      std::copy(src + y * 28, src + (y + 1) * 28, img.data() + (y + kPad) * kSide + kPad);
    const int64_t label = s.labels.data[idx];
    w.append(img.data(), &label, 1);
  }
  ShardProvenance p;
  p.source_index = order;
  return w.finish(p);
}

}  // namespace

std::vector<ShardInfo> prepare_fashion_mnist(const FashionMnistPrepareOptions& opt) {
  ensure_output_dir(opt.out);
  const Split test = read_split(opt.root, "t10k");
  const Split train = read_split(opt.root, "train");
  std::vector<int64_t> all_test(test.images.dims[0]), all_train(train.images.dims[0]);
  for (size_t i = 0; i < all_test.size(); ++i) all_test[i] = static_cast<int64_t>(i);
  for (size_t i = 0; i < all_train.size(); ++i) all_train[i] = static_cast<int64_t>(i);
  SampleRng pick(opt.seed, 0);
  const auto calib = choose_without_replacement(train.images.dims[0], opt.calib_count, pick);
  std::vector<ShardInfo> out;
  out.push_back(write_split(opt, test, "val", "fashion-mnist:" + opt.root + "/t10k", all_test, -1));
  out.push_back(
      write_split(opt, train, "calib", "fashion-mnist:" + opt.root + "/train", calib, static_cast<int64_t>(opt.seed)));
  if (opt.train) out.push_back(write_split(opt, train, "train", "fashion-mnist:" + opt.root + "/train", all_train, -1));
  return out;
}

}  // namespace qsweep::data
