// `qsweep prepare imagenet` on the 1000 sample images (../shared/data/imagenet-sample, one per
// class, grayscale ones included): parity with torchvision's PIL transforms, reproducible
// calibration sampling, RandomResizedCrop's box rules, and bad-file handling.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include <unistd.h>

#include "data/transforms/imagenet_transform.h"
#include "data/prepare/prepare.h"
#include "support/sha256.h"
#include "test_paths.h"

namespace qsweep::data {
namespace fs = std::filesystem;
namespace {

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// <dir>/val and <dir>/train both point at the sample's val folder (the sample has no train/):
// enough images to draw calibration sets from.
std::string sample_root() {
  // One folder per process: a stale or concurrent run's links (possibly to another checkout's
  // sample) must never be reused or collide.
  const std::string root = ::testing::TempDir() + "qsweep_imagenet_root_" + std::to_string(::getpid());
  fs::create_directories(root);
  for (const char* split : {"/val", "/train"}) {
    if (fs::is_symlink(root + split)) continue;
    fs::create_directory_symlink(test::imagenet_sample() + "/val", root + split);
  }
  return root;
}

ImageNetPrepareOptions options(const std::string& out) {
  ImageNetPrepareOptions o;
  o.root = sample_root();
  o.out = out;
  o.progress = false;
  return o;
}

// CI checkouts may lack ../shared; the sample-based tests then skip instead of failing.
#define SKIP_WITHOUT_SAMPLE()                          \
  if (!fs::exists(test::imagenet_sample() + "/val")) { \
    GTEST_SKIP() << "no " << test::imagenet_sample();  \
  }

// Per-image mean absolute difference between a shard and a raw N x C x H x W reference.
void expect_parity(const Shard& shard, const std::vector<uint8_t>& ref, const char* what) {
  const int64_t n = shard.size(), bytes = shard.info().image_bytes();
  ASSERT_EQ(static_cast<int64_t>(ref.size()), n * bytes) << what;
  int64_t exact = 0;
  double worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* a = shard.image_data(i);
    const uint8_t* b = ref.data() + i * bytes;
    int64_t sum = 0;
    for (int64_t k = 0; k < bytes; ++k) sum += std::abs(int{a[k]} - int{b[k]});
    const double mad = static_cast<double>(sum) / static_cast<double>(bytes);
    EXPECT_LE(mad, 0.5) << what << " image " << i;
    worst = std::max(worst, mad);
    exact += sum == 0;
  }
  std::printf("%s: %lld images, %lld bit-identical to torchvision, worst mean |diff| %.4f\n", what,
              static_cast<long long>(n), static_cast<long long>(exact), worst);
}

// The sample's val split prepared once for the parity tests below.
class SampleVal : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(test::imagenet_sample() + "/val")) return;
    out_ = new std::string(test::fresh_dir("imagenet_val"));
    auto o = options(*out_);
    o.calib = false;
    SingleProcess one;
    ASSERT_EQ(prepare_imagenet(o, one).shards.size(), 1u);
  }
  static void TearDownTestSuite() { delete out_; }
  void SetUp() override {
    if (!out_) GTEST_SKIP() << "no " << test::imagenet_sample();
  }
  static std::string* out_;
};
std::string* SampleVal::out_ = nullptr;

TEST_F(SampleVal, MatchesCommittedTorchvisionFixture) {
  const Shard val = Shard::open(*out_ + "/val.h5");
  EXPECT_EQ(val.size(), 1000);
  EXPECT_EQ(val.info().class_names.size(), 1000u);
  EXPECT_EQ(val.info().class_names.front(), "n01440764");
  EXPECT_EQ(val.provenance().files.size(), 1000u);
  // Per image: label and sha256[:16] of torchvision's output (tools/make_imagenet_val_fixture.py).
  std::ifstream fixture(QSWEEP_SOURCE_DIR "/tests/data/fixtures/imagenet_sample_val.sha256");
  ASSERT_TRUE(fixture) << "missing fixture";
  std::string line;
  int64_t i = 0, identical = 0;
  while (std::getline(fixture, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    int64_t label = -1;
    std::string hash;
    fields >> label >> hash;
    ASSERT_LT(i, val.size());
    EXPECT_EQ(val.labels(i, 1).item<int64_t>(), label) << "image " << i;
    Sha256 h;
    h.update(val.image_data(i), static_cast<size_t>(val.info().image_bytes()));
    const bool same = h.hex().substr(0, 16) == hash;
    EXPECT_TRUE(same) << "image " << i << " (" << val.provenance().files[i]
                      << ") differs from torchvision's bytes; run the test with /usr/bin/python3 + torchvision "
                         "installed to see the mean difference";
    identical += same;
    ++i;
  }
  EXPECT_EQ(i, 1000);
  std::printf("val vs committed torchvision fixture: %lld of %lld images bit-identical\n",
              static_cast<long long>(identical), static_cast<long long>(i));
}

TEST_F(SampleVal, MatchesTorchvisionComputedNow) {
  if (!test::have_torchvision()) GTEST_SKIP() << "/usr/bin/python3 cannot import torchvision";
  const Shard val = Shard::open(*out_ + "/val.h5");
  const std::string ref = *out_ + "/reference.u8";
  const std::string cmd =
      "/usr/bin/python3 " QSWEEP_SOURCE_DIR "/tools/imagenet_val_reference.py " + sample_root() + "/val " + ref;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const auto labels = read_file(ref + ".labels");
  ASSERT_EQ(labels.size(), 1000 * sizeof(int64_t));
  EXPECT_EQ(std::memcmp(labels.data(), val.labels(0, 1000).data_ptr<int64_t>(), labels.size()), 0);
  expect_parity(val, read_file(ref), "val Resize(256)+CenterCrop(224)");
}

TEST(PrepareImageNet, CalibrationMatchesTorchvisionForItsBoxes) {
  SKIP_WITHOUT_SAMPLE();
  if (!test::have_torchvision() || std::system("/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "/usr/bin/python3 cannot import torchvision and h5py";
  }
  const std::string out = test::fresh_dir("imagenet_calib_parity");
  auto o = options(out);
  o.val = false;
  o.calib_count = 96;
  SingleProcess one;
  prepare_imagenet(o, one);
  const Shard calib = Shard::open(out + "/calib.h5");
  const std::string ref = out + "/reference.u8";
  const std::string cmd = "/usr/bin/python3 " QSWEEP_SOURCE_DIR "/tools/imagenet_calib_reference.py " + out +
                          "/calib.h5 " + sample_root() + "/train " + ref;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  expect_parity(calib, read_file(ref), "calib RandomResizedCrop(224)+flip");
}

TEST(PrepareImageNet, CalibrationIsReproducibleAndSeeded) {
  SKIP_WITHOUT_SAMPLE();
  SingleProcess one;
  auto prepare = [&](const std::string& name, uint64_t seed) {
    auto o = options(test::fresh_dir(name));
    o.val = false;
    o.calib_count = 24;
    o.seed = seed;
    prepare_imagenet(o, one);
    return Shard::open(o.out + "/calib.h5");
  };
  const Shard a = prepare("calib_a", 1005), b = prepare("calib_b", 1005), c = prepare("calib_c", 1006);
  const auto pa = a.provenance(), pb = b.provenance(), pc = c.provenance();
  EXPECT_EQ(a.size(), 24);
  EXPECT_EQ(a.info().seed, 1005);
  EXPECT_EQ(pa.files, pb.files);
  EXPECT_EQ(pa.crop_boxes, pb.crop_boxes);
  EXPECT_EQ(pa.flips, pb.flips);
  EXPECT_EQ(a.info().fingerprint, b.info().fingerprint);
  EXPECT_NE(pa.files, pc.files);
  EXPECT_NE(a.info().fingerprint, c.info().fingerprint);
  // Labels follow the file's class folder.
  for (int64_t i = 0; i < a.size(); ++i) {
    const auto& names = a.info().class_names;
    EXPECT_EQ(pa.files[i].substr(0, pa.files[i].find('/')), names.at(a.labels(i, 1).item<int64_t>()));
  }
  EXPECT_NO_THROW(a.verify());
}

TEST(CalibCrop, FollowsRandomResizedCropRules) {
  SampleRng sizes(7, 0);
  int64_t boxes = 0, fallbacks = 0, near_square = 0, near_square_fallbacks = 0, flips = 0;
  double log_aspect_sum = 0, min_frac = 1, max_frac = 0;
  for (int i = 0; i < 20000; ++i) {
    const int64_t H = sizes.randint(32, 800), W = sizes.randint(32, 800);
    SampleRng rng(1005, 1 + static_cast<uint64_t>(i));
    const CalibCrop c = sample_calib_crop(H, W, rng);
    ASSERT_GE(c.top, 0);
    ASSERT_GE(c.left, 0);
    ASSERT_LE(c.top + c.height, H);
    ASSERT_LE(c.left + c.width, W);
    ASSERT_GT(c.height, 0);
    ASSERT_GT(c.width, 0);
    flips += c.flip;
    const double in_ratio = static_cast<double>(W) / static_cast<double>(H);
    const bool square_ish = in_ratio >= 3.0 / 4.0 && in_ratio <= 4.0 / 3.0;
    near_square += square_ish;
    if (c.fallback) {
      ++fallbacks;
      near_square_fallbacks += square_ish;
      // Centre crop, clamped to the ratio range.
      const int64_t fw = in_ratio < 0.75 ? W : in_ratio > 4.0 / 3.0 ? std::llround(H * 4.0 / 3.0) : W;
      const int64_t fh = in_ratio < 0.75 ? std::llround(W / 0.75) : H;
      EXPECT_EQ(c.width, fw) << W << "x" << H;
      EXPECT_EQ(c.height, fh) << W << "x" << H;
      EXPECT_EQ(c.top, (H - fh) / 2);
      EXPECT_EQ(c.left, (W - fw) / 2);
      continue;
    }
    ++boxes;
    // w and h are rounded from real values with area in [0.08, 1] x H*W and aspect in [3/4, 4/3].
    const double w = static_cast<double>(c.width), h = static_cast<double>(c.height), area = static_cast<double>(H * W);
    EXPECT_GE((w + 0.5) * (h + 0.5), 0.08 * area) << W << "x" << H;
    EXPECT_LE((w - 0.5) * (h - 0.5), area);
    EXPECT_GE((w + 0.5) / (h - 0.5), 3.0 / 4.0) << w << "x" << h;
    EXPECT_LE((w - 0.5) / (h + 0.5), 4.0 / 3.0) << w << "x" << h;
    log_aspect_sum += std::log(w / h);
    min_frac = std::min(min_frac, w * h / area);
    max_frac = std::max(max_frac, w * h / area);
  }
  // Near-square images almost always get a random box in 10 attempts; elongated ones (sizes
  // here go up to 25:1) often cannot fit a box of aspect <= 4/3 and fall back.
  EXPECT_LT(near_square_fallbacks, near_square / 100);
  EXPECT_GT(fallbacks, 0);
  EXPECT_NEAR(static_cast<double>(flips) / 20000, 0.5, 0.015);
  EXPECT_NEAR(log_aspect_sum / static_cast<double>(boxes), 0.0, 0.01);  // log-uniform, symmetric range
  EXPECT_LT(min_frac, 0.085);
  EXPECT_GT(max_frac, 0.95);

  // Fallback: a panorama no box fits gets the centre crop clamped to the largest ratio.
  int fell_back = 0;
  for (int i = 0; i < 200; ++i) {
    SampleRng rng(1005, 1 + static_cast<uint64_t>(i));
    const CalibCrop c = sample_calib_crop(10, 1000, rng);
    if (!c.fallback) continue;
    ++fell_back;
    EXPECT_EQ(c.height, 10);
    EXPECT_EQ(c.width, 13);  // round(10 * 4/3)
    EXPECT_EQ(c.top, 0);
    EXPECT_EQ(c.left, (1000 - 13) / 2);
  }
  EXPECT_GT(fell_back, 0);
}

TEST(PrepareImageNet, BadFilesStopWithTheirPathOrAreSkipped) {
  SKIP_WITHOUT_SAMPLE();
  const std::string root = test::fresh_dir("imagenet_bad");
  const std::string cls = root + "/val/n00000001";
  fs::create_directories(cls);
  const std::string good = test::imagenet_sample() + "/val/n01440764";
  const std::string good_file = good + "/" + fs::directory_iterator(good)->path().filename().string();
  fs::copy_file(good_file, cls + "/a_good.JPEG");
  const auto bytes = read_file(good_file);
  std::ofstream(cls + "/b_truncated.JPEG", std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size() / 2));
  std::ofstream(cls + "/c_png.JPEG", std::ios::binary) << std::string("\x89PNG\r\n\x1a\n0000000000000000", 24);
  SingleProcess one;
  ImageNetPrepareOptions o;
  o.root = root;
  o.out = root + "/out";
  o.calib = false;
  o.progress = false;
  try {
    prepare_imagenet(o, one);
    FAIL() << "expected ImageError";
  } catch (const ImageError& e) {
    EXPECT_NE(std::string(e.what()).find(cls + "/b_truncated.JPEG"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--skip-bad"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(o.out + "/val.h5"));
  o.skip_bad = true;
  const auto report = prepare_imagenet(o, one);
  ASSERT_EQ(report.skipped.size(), 2u);
  EXPECT_NE(report.skipped[0].find("truncated"), std::string::npos) << report.skipped[0];
  EXPECT_NE(report.skipped[1].find("Not a JPEG"), std::string::npos) << report.skipped[1];
  const Shard val = Shard::open(o.out + "/val.h5");
  EXPECT_EQ(val.size(), 1);
  EXPECT_EQ(val.provenance().files, std::vector<std::string>{"n00000001/a_good.JPEG"});
}

TEST(JpegDecode, CmykBecomesRgbAsPil) {
  SKIP_WITHOUT_SAMPLE();
  if (!test::have_torchvision()) GTEST_SKIP() << "/usr/bin/python3 with PIL needed";
  const std::string dir = test::fresh_dir("cmyk");
  const std::string good = test::imagenet_sample() + "/val/n01440764";
  const std::string src = good + "/" + fs::directory_iterator(good)->path().filename().string();
  // PIL writes Adobe CMYK JPEGs (inverted), the kind ImageNet's train split contains.
  const std::string cmd =
      "/usr/bin/python3 -c \"import numpy as np; from PIL import Image; "
      "Image.open('" +
      src + "').convert('CMYK').save('" + dir +
      "/c.jpg'); "
      "np.asarray(Image.open('" +
      dir + "/c.jpg').convert('RGB')).tofile('" + dir + "/c.rgb')\"";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const RgbImage img = decode_jpeg_rgb(dir + "/c.jpg");
  EXPECT_EQ(img.pixels, read_file(dir + "/c.rgb"));
}

// A header declaring a huge image (a decompression bomb) is refused from the header, naming the
// file, before any pixel buffer is allocated; the limit is configurable.
TEST(Jpeg, HugeDeclaredDimensionsAreRefusedFromTheHeader) {
  SKIP_WITHOUT_SAMPLE();
  const std::string good = test::imagenet_sample() + "/val/n01440764";
  auto bytes = read_file(good + "/" + fs::directory_iterator(good)->path().filename().string());
  EXPECT_THROW(decode_jpeg_rgb(bytes.data(), bytes.size(), "small.jpg", 100), ImageError);
  // Patch the frame header (SOF0/SOF2: FF C0|C2, length, precision, height, width) to 60000 x 60000.
  size_t sof = 0;
  for (size_t i = 0; i + 9 < bytes.size(); ++i) {
    if (bytes[i] == 0xFF && (bytes[i + 1] == 0xC0 || bytes[i + 1] == 0xC2)) {
      sof = i;
      break;
    }
  }
  ASSERT_GT(sof, 0u);
  for (size_t k : {5, 7}) bytes[sof + k] = 0xEA, bytes[sof + k + 1] = 0x60;  // 60000
  try {
    decode_jpeg_rgb(bytes.data(), bytes.size(), "bomb.jpg");
    FAIL() << "a 3.6-gigapixel header was decoded";
  } catch (const ImageError& e) {
    EXPECT_NE(std::string(e.what()).find("bomb.jpg: the JPEG header declares 60000 x 60000 = 3600000000 pixels, "
                                         "above the limit of 178956970"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace qsweep::data
