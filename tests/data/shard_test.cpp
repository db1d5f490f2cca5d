// Shard format: write/read round trip, zero-copy views, normalised batches equal to torchvision's
// ToTensor+Normalize arithmetic, and clear errors for missing, foreign, truncated and altered files.
#include "data/shard/shard.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "data/shard/batch_reader.h"
#include "test_paths.h"

namespace qsweep::data {
namespace {

ShardInfo small_info(const std::string& path) {
  ShardInfo info;
  info.path = path;
  info.split = "val";
  info.source = "synthetic";
  info.transform = "none";
  info.channels = 3;
  info.height = 5;
  info.width = 7;
  info.mean = {0.485f, 0.456f, 0.406f};
  info.std = {0.229f, 0.224f, 0.225f};
  info.class_names = {"a", "b", "c"};
  return info;
}

// n images whose bytes are (i * 31 + k) mod 256; label i mod 3.
ShardInfo write_small(const std::string& path, int64_t n) {
  ShardWriter w(small_info(path));
  const int64_t bytes = 3 * 5 * 7;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<uint8_t> img(bytes);
    for (int64_t k = 0; k < bytes; ++k) img[k] = static_cast<uint8_t>((i * 31 + k) % 256);
    const int64_t label = i % 3;
    w.append(img.data(), &label, 1);
  }
  ShardProvenance p;
  for (int64_t i = 0; i < n; ++i) p.files.push_back("f" + std::to_string(i) + ".JPEG");
  for (int64_t i = 0; i < n; ++i) p.crop_boxes.push_back({i, i + 1, 2, 3});
  p.flips.assign(n, 1);
  return w.finish(p);
}

std::string expect_shard_error(const std::string& path, const std::string& what) {
  try {
    Shard::open(path).verify();
  } catch (const ShardError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(path), std::string::npos) << m;
    EXPECT_NE(m.find(what), std::string::npos) << m;
    return m;
  }
  ADD_FAILURE() << "expected ShardError for " << path;
  return "";
}

TEST(Shard, RoundTrip) {
  const std::string path = test::fresh_dir("shard_rt") + "/val.h5";
  const ShardInfo written = write_small(path, 10);
  EXPECT_FALSE(std::filesystem::exists(path + ".partial"));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  const Shard s = Shard::open(path);
  const auto& info = s.info();
  EXPECT_EQ(info.count, 10);
  EXPECT_EQ(info.channels, 3);
  EXPECT_EQ(info.height, 5);
  EXPECT_EQ(info.width, 7);
  EXPECT_EQ(info.split, "val");
  EXPECT_EQ(info.class_names, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(info.fingerprint, written.fingerprint);
  EXPECT_EQ(info.fingerprint.rfind("sha256:", 0), 0u);
  EXPECT_EQ(info.mean, (std::vector<float>{0.485f, 0.456f, 0.406f}));
  const at::Tensor x = s.images_u8(2, 3);
  EXPECT_EQ(x.sizes(), (at::IntArrayRef{3, 3, 5, 7}));
  EXPECT_EQ(x.data_ptr<uint8_t>(), s.image_data(2));  // a view of the mapping, no copy
  EXPECT_EQ(x[1][0][0][1].item<int>(), (3 * 31 + 1) % 256);
  EXPECT_EQ(s.labels(0, 10)[4].item<int64_t>(), 1);
  const auto p = s.provenance();
  ASSERT_EQ(p.files.size(), 10u);
  EXPECT_EQ(p.files[9], "f9.JPEG");
  EXPECT_EQ(p.crop_boxes[4], (std::array<int64_t, 4>{4, 5, 2, 3}));
  EXPECT_EQ(p.flips[3], 1);
  EXPECT_TRUE(p.fallback.empty());
  EXPECT_NO_THROW(s.verify());
  EXPECT_THROW(s.images_u8(8, 3), ShardError);
}

// A shard written before the one HDF5 layer (commit 1561eda: fixed-length string attributes,
// int64[1] schema_version; tests/data/fixtures/README.md) opens, verifies and matches what today's
// writer records for the same images.
TEST(Shard, ShardsWrittenBeforeTheOneHdf5LayerStillOpen) {
  const Shard old = Shard::open(std::string(QSWEEP_SOURCE_DIR) + "/tests/data/fixtures/shard_before_h5_merge.h5");
  EXPECT_NO_THROW(old.verify());
  const std::string path = test::fresh_dir("shard_legacy") + "/val.h5";
  const ShardInfo now = write_small(path, 10);
  const auto& info = old.info();
  EXPECT_EQ(info.fingerprint, now.fingerprint);
  EXPECT_EQ(info.split, "val");
  EXPECT_EQ(info.source, "synthetic");
  EXPECT_EQ(info.class_names, now.class_names);
  EXPECT_EQ(info.mean, now.mean);
  EXPECT_EQ(info.count, 10);
  const auto p = old.provenance(), q = Shard::open(path).provenance();
  EXPECT_EQ(p.files, q.files);
  EXPECT_EQ(p.crop_boxes, q.crop_boxes);
  EXPECT_EQ(p.flips, q.flips);
}

TEST(Shard, ViewOutlivesShardAndWritesStayPrivate) {
  const std::string path = test::fresh_dir("shard_view") + "/val.h5";
  write_small(path, 4);
  at::Tensor x;
  {
    const Shard s = Shard::open(path);
    x = s.images_u8(0, 4);
  }
  EXPECT_EQ(x[3][2][4][6].item<int>(), (3 * 31 + 104) % 256);  // mapping kept alive by the view
  x.zero_();                                                   // copy-on-write: the file is untouched
  EXPECT_NO_THROW(Shard::open(path).verify());
}

TEST(BatchReader, NormalisesLikeTorchvisionInFixedOrder) {
  const std::string path = test::fresh_dir("shard_batches") + "/val.h5";
  write_small(path, 10);
  const Shard s = Shard::open(path);
  BatchReader reader(s, 4);
  EXPECT_EQ(reader.num_batches(), 3);
  const auto mean = at::tensor(std::vector<float>{0.485f, 0.456f, 0.406f}).view({1, 3, 1, 1});
  const auto std = at::tensor(std::vector<float>{0.229f, 0.224f, 0.225f}).view({1, 3, 1, 1});
  int64_t seen = 0;
  const float* first_buffer = nullptr;
  while (const Batch* b = reader.next()) {
    const int64_t n = b->images.size(0);
    // torchvision: ToTensor (float / 255) then Normalize (sub mean, div std), all float32.
    const auto expect = (s.images_u8(b->begin, n).to(at::kFloat).div(255) - mean) / std;
    EXPECT_TRUE(at::equal(b->images, expect)) << "batch at " << b->begin;
    EXPECT_TRUE(at::equal(b->labels, s.labels(b->begin, n)));
    if (!first_buffer) first_buffer = b->images.data_ptr<float>();
    EXPECT_EQ(b->images.data_ptr<float>(), first_buffer);  // one buffer, reused
    EXPECT_EQ(b->begin, seen);
    seen += n;
  }
  EXPECT_EQ(seen, 10);
  const auto calib = load_calibration_batches(s, 4);
  ASSERT_EQ(calib.size(), 3u);
  EXPECT_EQ(calib[2].size(0), 2);
  EXPECT_NE(calib[0].data_ptr<float>(), calib[1].data_ptr<float>());
}

TEST(Shard, ClearErrors) {
  const std::string dir = test::fresh_dir("shard_errors");
  expect_shard_error(dir + "/missing.h5", "no such file");
  { std::ofstream(dir + "/text.h5") << "not hdf5 at all"; }
  expect_shard_error(dir + "/text.h5", "not an HDF5 file");

  const std::string good = dir + "/good.h5";
  write_small(good, 200);
  const auto size = std::filesystem::file_size(good);
  const std::string truncated = dir + "/truncated.h5";
  std::filesystem::copy_file(good, truncated);
  std::filesystem::resize_file(truncated, size / 2);
  const std::string m = expect_shard_error(truncated, "");
  EXPECT_TRUE(m.find("truncated") != std::string::npos) << m;

  // One flipped pixel: the layout is intact, the fingerprint is not.
  const std::string altered = dir + "/altered.h5";
  std::filesystem::copy_file(good, altered);
  const Shard s = Shard::open(good);
  {
    std::fstream f(altered, std::ios::in | std::ios::out | std::ios::binary);
    // the last image byte sits right before the file's tail metadata; find it by content
    std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const std::string first(reinterpret_cast<const char*>(s.image_data(0)), 105 * 4);
    const auto at = all.find(first);
    ASSERT_NE(at, std::string::npos);
    f.seekp(static_cast<std::streamoff>(at + 50));
    f.put(static_cast<char>(all[at + 50] ^ 0xff));
  }
  expect_shard_error(altered, "does not match the stored");
}

// A label the classes cannot name: refused by the writer (every prepare path), and by open() for
// a file written elsewhere or altered, with the file and the index.
TEST(Shard, LabelsOutsideTheClassesAreRefused) {
  const std::string dir = test::fresh_dir("shard_labels");
  {
    ShardWriter w(small_info(dir + "/w.h5"));
    std::vector<uint8_t> img(3 * 5 * 7, 0);
    const int64_t ok = 2, bad = 3;
    w.append(img.data(), &ok, 1);
    try {
      w.append(img.data(), &bad, 1);
      FAIL() << "label 3 of 3 classes accepted";
    } catch (const ShardError& e) {
      EXPECT_NE(std::string(e.what()).find(dir + "/w.h5: image 1: label 3 is outside the 3 classes (0..2)"),
                std::string::npos)
          << e.what();
    }
  }
  const std::string good = dir + "/good.h5", altered = dir + "/altered.h5";
  write_small(good, 200);
  std::filesystem::copy_file(good, altered);
  {
    std::fstream f(altered, std::ios::in | std::ios::out | std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::vector<int64_t> labels(8);
    for (int64_t i = 0; i < 8; ++i) labels[i] = i % 3;
    const auto at = all.find(std::string(reinterpret_cast<const char*>(labels.data()), 64));
    ASSERT_NE(at, std::string::npos);
    f.seekp(static_cast<std::streamoff>(at + 8));  // labels[1]: 1 → 7
    f.put(7);
  }
  expect_shard_error(altered, "/labels[1] = 7 is outside the shard's 3 classes (0..2)");
}

TEST(ShardWriter, AbandonedWriterLeavesNoFiles) {
  const std::string dir = test::fresh_dir("shard_abandon");
  {
    ShardWriter w(small_info(dir + "/x.h5"));
    std::vector<uint8_t> img(105, 1);
    const int64_t label = 0;
    w.append(img.data(), &label, 1);
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir));
}

}  // namespace
}  // namespace qsweep::data
