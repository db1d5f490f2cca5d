// idx reader: Debian's Fashion-MNIST files and malformed files that must fail with the path named.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <fstream>

#include "data/data_error.h"
#include "data/sources/idx_file.h"

namespace qsweep::data {
namespace {

const std::string kRoot = "/usr/share/datasets/fashion-mnist";

TEST(IdxFile, ReadsFashionMnistTestSplit) {
  const auto images = read_idx(kRoot + "/t10k-images-idx3-ubyte.gz");
  EXPECT_EQ(images.dims, (std::vector<int64_t>{10000, 28, 28}));
  const auto labels = read_idx(kRoot + "/t10k-labels-idx1-ubyte.gz");
  ASSERT_EQ(labels.dims, (std::vector<int64_t>{10000}));
  EXPECT_EQ(labels.data[0], 9);  // ankle boot
  std::vector<int> hist(10);
  for (auto l : labels.data) hist.at(l)++;
  for (int c = 0; c < 10; ++c) EXPECT_EQ(hist[c], 1000) << c;
}

std::string write_temp(const std::string& name, const std::string& bytes) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

void expect_error_naming(const std::string& path, const std::string& what) {
  try {
    read_idx(path);
    FAIL() << "expected DataError for " << path;
  } catch (const DataError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(path), std::string::npos) << m;
    EXPECT_NE(m.find(what), std::string::npos) << m;
  }
}

TEST(IdxFile, RejectsMalformedFiles) {
  expect_error_naming(::testing::TempDir() + "missing.idx", "cannot open");
  expect_error_naming(write_temp("bad_magic.idx", std::string("\x12\x34\x08\x01", 4)), "not an idx file");
  expect_error_naming(write_temp("float.idx", std::string("\x00\x00\x0d\x01\x00\x00\x00\x01", 8)), "type code");
  expect_error_naming(write_temp("short.idx", std::string("\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02", 10)),
                      "truncated");
  expect_error_naming(write_temp("long.idx", std::string("\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", 10)),
                      "longer than the header");
  const auto ok = read_idx(write_temp("ok.idx", std::string("\x00\x00\x08\x02\x00\x00\x00\x01\x00\x00\x00\x02\x07\x09", 14)));
  EXPECT_EQ(ok.dims, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(ok.data, (std::vector<uint8_t>{7, 9}));
}

}  // namespace
}  // namespace qsweep::data
