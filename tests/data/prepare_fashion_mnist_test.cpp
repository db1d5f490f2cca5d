// `qsweep prepare fashion-mnist` on Debian's dataset-fashion-mnist: counts, label histogram,
// padding and known pixels, and the seeded calibration choice.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "data/sources/idx_file.h"
#include "data/prepare/prepare.h"
#include "data/prepare/sample_rng.h"
#include "test_paths.h"

namespace qsweep::data {
namespace {

class PrepareFashionMnist : public ::testing::Test {
 protected:
  // Prepared once for the suite (val + calib; the 60 000-image train split has its own test).
  static void SetUpTestSuite() {
    FashionMnistPrepareOptions opt;
    opt.root = test::kFashionMnist;
    opt.out = test::fresh_dir("fmnist");
    opt.train = false;
    shards_ = new std::vector<ShardInfo>(prepare_fashion_mnist(opt));
  }
  static void TearDownTestSuite() { delete shards_; }
  static std::vector<ShardInfo>* shards_;
};
std::vector<ShardInfo>* PrepareFashionMnist::shards_ = nullptr;

TEST_F(PrepareFashionMnist, ValIsTheTestSplitPaddedTo32) {
  ASSERT_EQ(shards_->size(), 2u);
  const Shard val = Shard::open(shards_->at(0).path);
  const auto& info = val.info();
  EXPECT_EQ(info.split, "val");
  EXPECT_EQ(info.count, 10000);
  EXPECT_EQ(info.channels, 1);
  EXPECT_EQ(info.height, 32);
  EXPECT_EQ(info.width, 32);
  EXPECT_EQ(info.mean, std::vector<float>{0.2860f});
  EXPECT_EQ(info.std, std::vector<float>{0.3530f});
  EXPECT_EQ(info.class_names.at(9), "Ankle boot");
  const auto hist = at::bincount(val.labels(0, 10000));
  EXPECT_TRUE(at::equal(hist, at::full({10}, 1000, at::kLong))) << hist;
  EXPECT_EQ(val.labels(0, 1).item<int64_t>(), 9);  // the first test image is an ankle boot

  const auto x = val.images_u8(0, 10000).to(at::kLong);
  // 2-pixel zero border on every side; the 28x28 interior is the idx payload.
  EXPECT_EQ(x.narrow(2, 0, 2).sum().item<int64_t>(), 0);
  EXPECT_EQ(x.narrow(2, 30, 2).sum().item<int64_t>(), 0);
  EXPECT_EQ(x.narrow(3, 0, 2).sum().item<int64_t>(), 0);
  EXPECT_EQ(x.narrow(3, 30, 2).sum().item<int64_t>(), 0);
  const auto raw = read_idx(std::string(test::kFashionMnist) + "/t10k-images-idx3-ubyte.gz");
  const auto raw_t = at::from_blob(const_cast<uint8_t*>(raw.data.data()), {10000, 1, 28, 28}, at::kByte);
  EXPECT_TRUE(at::equal(val.images_u8(0, 10000).narrow(2, 2, 28).narrow(3, 2, 28), raw_t));
  // Known pixels (row 10 of image 0, row 16 of image 1, in padded coordinates).
  const auto row0 = val.images_u8(0, 1)[0][0][10].narrow(0, 15, 5).to(at::kLong);
  EXPECT_TRUE(at::equal(row0, at::tensor(std::vector<int64_t>{1, 2, 0, 27, 84}))) << row0;
  const auto row1 = val.images_u8(1, 1)[0][0][16].narrow(0, 10, 4).to(at::kLong);
  EXPECT_TRUE(at::equal(row1, at::tensor(std::vector<int64_t>{86, 255, 233, 233}))) << row1;
  EXPECT_NO_THROW(val.verify());
}

TEST_F(PrepareFashionMnist, CalibrationIsASeededTrainSubset) {
  const Shard calib = Shard::open(shards_->at(1).path);
  EXPECT_EQ(calib.info().count, 1024);
  EXPECT_EQ(calib.info().seed, 1005);
  const auto p = calib.provenance();
  ASSERT_EQ(p.source_index.size(), 1024u);
  EXPECT_EQ(std::set<int64_t>(p.source_index.begin(), p.source_index.end()).size(), 1024u);
  // Pinned: the draw is part of the format (sample_rng.h), so it must not drift between builds.
  EXPECT_EQ(std::vector<int64_t>(p.source_index.begin(), p.source_index.begin() + 5),
            (std::vector<int64_t>{40204, 11779, 26331, 32523, 25254}));
  const auto labels = read_idx(std::string(test::kFashionMnist) + "/train-labels-idx1-ubyte.gz");
  for (int i = 0; i < 1024; ++i) ASSERT_EQ(calib.labels(i, 1).item<int64_t>(), labels.data[p.source_index[i]]) << i;

  SampleRng same(1005, 0), other(1006, 0);
  EXPECT_EQ(choose_without_replacement(60000, 1024, same), p.source_index);
  EXPECT_NE(choose_without_replacement(60000, 1024, other), p.source_index);
}

TEST(PrepareFashionMnistTrain, FullTrainSplit) {
  FashionMnistPrepareOptions opt;
  opt.out = test::fresh_dir("fmnist_train");
  opt.calib_count = 16;
  const auto shards = prepare_fashion_mnist(opt);
  ASSERT_EQ(shards.size(), 3u);
  const Shard train = Shard::open(shards[2].path);
  EXPECT_EQ(train.info().count, 60000);
  // Mean of the 28x28 interior over all train pixels: 72.94 (docs/TOOLCHAIN.md §7).
  const double mean = train.images_u8(0, 60000).narrow(2, 2, 28).narrow(3, 2, 28).to(at::kDouble).mean().item<double>();
  EXPECT_NEAR(mean, 72.94, 0.01);
}

TEST(PrepareFashionMnistErrors, CorruptIdxNamesThePath) {
  const std::string dir = test::fresh_dir("fmnist_bad");
  for (const char* f : {"t10k-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"}) {
    std::filesystem::copy_file(std::string(test::kFashionMnist) + "/" + f, dir + "/" + f);
  }
  const std::string bad = dir + "/t10k-images-idx3-ubyte.gz";
  std::filesystem::copy_file(std::string(test::kFashionMnist) + "/t10k-images-idx3-ubyte.gz", bad);
  std::filesystem::resize_file(bad, std::filesystem::file_size(bad) / 2);
  FashionMnistPrepareOptions opt;
  opt.root = dir;
  opt.out = dir + "/out";
  try {
    prepare_fashion_mnist(opt);
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qsweep::data
