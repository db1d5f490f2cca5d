// The one HDF5 layer (support/h5.h) and its commit rules (support/h5_commit.h).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

#include "support/h5.h"
#include "support/h5_commit.h"

namespace qsweep {
namespace {

namespace fs = std::filesystem;

// A fresh folder per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("qsweep_h5_test_" + std::to_string(getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ignored);
    fs::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no error";
}

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(H5, TypedValuesAttributesAndParents) {
  TempDir dir;
  {
    auto f = h5::File::create(dir.file("a.h5"), 7);
    f.write("a/b/c/ints", std::vector<int32_t>{1, 2, 3});
    f.write("a/b/d", 2.5);
    f.write("a/name", "resnet18");
    f.write("a/names", std::vector<std::string>{"x", "yy", ""});
    f.write("a/empty", std::vector<float>{});
    f.write("a/b/d", 3.5);  // replaces
    auto g = f.group("a/b");
    g.set_attribute("bits", int64_t{4});
    g.set_attribute("label", "MinMax");
    g.set_attribute("range", std::vector<double>{-1, 1});
  }
  auto f = h5::File::open(dir.file("a.h5"));
  EXPECT_EQ(f.schema_version(), 7);
  EXPECT_EQ(f.read<std::vector<int32_t>>("a/b/c/ints"), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(f.read<double>("/a/b/d"), 3.5);
  EXPECT_EQ(f.read<std::string>("a/name"), "resnet18");
  EXPECT_EQ(f.read<std::vector<std::string>>("a/names"), (std::vector<std::string>{"x", "yy", ""}));
  EXPECT_TRUE(f.read<std::vector<float>>("a/empty").empty());
  auto g = f.open_group("a/b");
  EXPECT_EQ(g.path(), "/a/b");
  EXPECT_EQ(g.attribute<int64_t>("bits"), 4);
  EXPECT_EQ(g.attribute<std::string>("label"), "MinMax");
  EXPECT_EQ(g.attribute<std::vector<double>>("range"), (std::vector<double>{-1, 1}));
  EXPECT_EQ(f.children("a"), (std::vector<std::string>{"b", "empty", "name", "names"}));
  EXPECT_TRUE(f.exists("a/b/c/ints"));
  EXPECT_FALSE(f.exists("a/x/y"));
}

TEST(H5, ErrorsNameFileAndObject) {
  TempDir dir;
  auto f = h5::File::create(dir.file("e.h5"), 1);
  f.write("v", std::vector<double>{1, 2});
  try {
    f.read<double>("v");
    FAIL() << "no error";
  } catch (const h5::Error& e) {
    EXPECT_NE(std::string(e.what()).find("e.h5:/v: shape [2] does not fit"), std::string::npos) << e.what();
  }
  try {
    f.read<std::vector<float>>("missing/v");
    FAIL() << "no error";
  } catch (const h5::Error& e) {
    EXPECT_NE(std::string(e.what()).find("e.h5:/missing/v: no such dataset"), std::string::npos) << e.what();
  }
  EXPECT_THROW(f.write("v/w", 1.0), h5::Error);  // a dataset is not a group: HDF5's own stack in the message
  std::ofstream(dir.file("not.h5")) << "hello";
  try {
    h5::File::open(dir.file("not.h5"));
    FAIL() << "no error";
  } catch (const h5::Error& e) {
    EXPECT_NE(std::string(e.what()).find("not.h5: not an HDF5 file"), std::string::npos) << e.what();
  }
}


TEST(H5, ArraysOfAnyShapeReadBackInCOrder) {
  TempDir dir;
  auto f = h5::File::create(dir.file("a.h5"), 1);
  const std::vector<int64_t> boxes = {1, 2, 3, 4, 5, 6, 7, 8};
  h5::DataSet ds = f.write_array("boxes", {2, 4}, boxes.data());
  ds.set_attribute("description", "two boxes");
  EXPECT_EQ(f.dataset("boxes").dims(), (std::vector<uint64_t>{2, 4}));
  EXPECT_EQ(f.read<std::vector<int64_t>>("boxes"), boxes);
  EXPECT_EQ(f.dataset("boxes").attribute<std::string>("description"), "two boxes");
  EXPECT_EQ(f.dataset("boxes").element_type().text(), "int64");
  EXPECT_TRUE(f.dataset("boxes").element_type().is<int64_t>());
  EXPECT_FALSE(f.dataset("boxes").element_type().is<uint8_t>());
  // An attribute written as a one-element array reads as a scalar and as a vector.
  f.set_attribute("count", std::vector<int64_t>{7});
  EXPECT_EQ(f.attribute<int64_t>("count"), 7);
  EXPECT_EQ(f.attribute<std::vector<int64_t>>("count"), (std::vector<int64_t>{7}));
}

// What a shard's /images needs: contiguous, allocated at creation, written row range by row range,
// and found at storage().offset in the file's bytes, where a reader maps it.
TEST(H5, ContiguousDatasetsAreFoundAtTheirOffset) {
  TempDir dir;
  const std::string path = dir.file("c.h5");
  std::vector<uint8_t> pixels(4 * 2 * 3);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(200 + i);
  {
    auto f = h5::File::create(path, 1);
    h5::DataSet ds = f.create_contiguous<uint8_t>("images", {4, 2, 3});
    EXPECT_TRUE(ds.storage().offset.has_value());  // allocated before any write
    ds.write_rows(0, 3, pixels.data());
    ds.write_rows(3, 1, pixels.data() + 3 * 6);
    const auto past = error_of([&] { ds.write_rows(3, 2, pixels.data()); });
    EXPECT_NE(past.find("c.h5:/images: rows [3, 5) written, the dataset has 4"), std::string::npos) << past;
    EXPECT_NE(error_of([&] { f.create_contiguous<uint8_t>("images", {1}); }).find("already exists"), std::string::npos);
  }
  const auto f = h5::File::open(path);
  const h5::DataSet ds = f.dataset("images");
  EXPECT_TRUE(ds.element_type().is<uint8_t>());
  const h5::Storage s = ds.storage();
  ASSERT_TRUE(s.contiguous);
  EXPECT_EQ(s.filters, 0);
  ASSERT_TRUE(s.offset.has_value());
  const std::string bytes = bytes_of(path);
  ASSERT_LE(*s.offset + pixels.size(), bytes.size());
  EXPECT_EQ(bytes.substr(*s.offset, pixels.size()), std::string(pixels.begin(), pixels.end()));
  EXPECT_EQ(f.read<std::vector<uint8_t>>("images"), pixels);
  // A chunked table is not contiguous and has no offset to map.
  auto g = h5::File::create(dir.file("t.h5"), 1);
  h5::CompoundType t(sizeof(double));
  t.add<double>("x", 0);
  const h5::Storage table = g.create_table("table", t).storage();
  EXPECT_FALSE(table.contiguous);
  EXPECT_FALSE(table.offset.has_value());
}

// Shards written before the one HDF5 layer hold fixed-length string attributes; they still read.
TEST(H5, FixedLengthStringsOfEarlierShardsRead) {
  const auto f = h5::File::open(std::string(QSWEEP_SOURCE_DIR) + "/tests/data/fixtures/shard_before_h5_merge.h5");
  EXPECT_EQ(f.attribute<std::string>("split"), "val");
  EXPECT_EQ(f.attribute<std::string>("fingerprint").rfind("sha256:", 0), 0u);
  EXPECT_EQ(f.read<std::vector<std::string>>("class_names"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(f.attribute<std::vector<int64_t>>("schema_version"), (std::vector<int64_t>{1}));
}

TEST(H5Commit, StagedFilesAppearWholeOrNotAtAll) {
  TempDir dir;
  const std::string path = dir.file("s.h5");
  {
    h5::StagedFile staged(path, 3);
    staged.file().write("x", 1.5);
    EXPECT_TRUE(fs::exists(staged.temporary_path()));
    EXPECT_FALSE(fs::exists(path));
  }  // abandoned: no file, no temporary
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  {
    h5::StagedFile staged(path, 3);
    staged.file().write("x", 2.5);
    staged.commit();
  }
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  EXPECT_EQ(h5::File::open(path).read<double>("x"), 2.5);
  EXPECT_EQ(h5::File::open(path).schema_version(), 3);
}

// A DataSet still open at commit would let HDF5 write (and lock) the file after the rename.
TEST(H5Commit, ACommitWithAnObjectStillOpenIsRefused) {
  TempDir dir;
  const std::string path = dir.file("open.h5");
  h5::StagedFile staged(path, 1);
  const h5::DataSet ds = staged.file().write("x", std::vector<int32_t>{1, 2});
  const auto m = error_of([&] { staged.commit(); });
  EXPECT_NE(m.find(path + ": 1 object(s) of " + path + ".tmp still open at commit"), std::string::npos) << m;
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST(H5Commit, ChangesReplaceTheFileAndAFailedOneLeavesItAsItWas) {
  TempDir dir;
  const std::string path = dir.file("r.h5");
  h5::create_atomically(path, 1, [](h5::File& f) { f.write("rows", std::vector<int32_t>{1}); });
  h5::change_atomically(path, [](h5::File& f) { f.write("rows", std::vector<int32_t>{1, 2}); });
  EXPECT_EQ(h5::File::open(path).read<std::vector<int32_t>>("rows"), (std::vector<int32_t>{1, 2}));
  const std::string before = bytes_of(path);
  fs::create_directory(path + ".tmp");  // the temporary cannot be created
  const auto m = error_of([&] { h5::change_atomically(path, [](h5::File& f) { f.write("rows", 3); }); });
  EXPECT_NE(m.find(path + ": cannot create " + path + ".tmp: Is a directory; the file is unchanged"), std::string::npos)
      << m;
  EXPECT_EQ(bytes_of(path), before);
  const auto nowhere = dir.file("no/such/folder/x.h5");
  EXPECT_NE(error_of([&] { h5::write_atomically(nowhere, {'x'}); }).find(nowhere + ": cannot create "),
            std::string::npos);
  EXPECT_THROW(h5::write_atomically(nowhere, {'x'}), h5::CommitError);
}

TEST(H5Commit, ASecondWriterIsRefusedWithTheFirstOnesPid) {
  TempDir dir;
  const std::string path = dir.file("w.h5");
  {
    h5::WriterLock first(path, "shard", "choose another output");
    const auto m = error_of([&] { h5::WriterLock second(path, "shard", "choose another output"); });
    EXPECT_NE(m.find(path + ": another qsweep run is writing this shard (pid " + std::to_string(getpid()) + " on "),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("; wait for it to finish, or choose another output"), std::string::npos) << m;
  }
  h5::WriterLock again(path, "shard", "choose another output");  // released with the first
}

}  // namespace
}  // namespace qsweep
