// The results file's guarantees: one writer at a time, readers never blocked or shown a partial
// change, a failed change leaves the file as it was, and damaged or foreign files are refused
// with the file and what is missing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/h5.h"
#include "results/store.h"
#include "temp_dir.h"

namespace qsweep::results {
namespace {

namespace fs = std::filesystem;

struct TempDir : testing::TempDir {
  TempDir() : testing::TempDir("qsweep_store_safety_") {}
};

TaskRow ok_row(const std::string& id) {
  TaskRow r;
  r.id = id, r.model = "resnet18", r.backend = "academic", r.w_calib = "minmax", r.a_calib = "ema_minmax";
  r.wbit = 8, r.abit = 8, r.status = "ok", r.top1 = 90.0;
  return r;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no error";
}

TEST(StoreSafety, ASecondWriterIsRefusedAndReadersAreNotBlocked) {
  TempDir d;
  const auto path = d.file("r.h5");
  ResultsStore writer(path);
  writer.append(ok_row("a"));
  const auto second = error_of([&] { ResultsStore again(path); });
  EXPECT_NE(second.find(path + ": another qsweep run is writing this results file (pid "), std::string::npos) << second;
  // A reader needs no HDF5_USE_FILE_LOCKING=FALSE: the writer never holds the file open.
  const ResultsStore reader(path, ResultsStore::Mode::kReadOnly);
  EXPECT_EQ(reader.rows().size(), 1u);
  writer.append(ok_row("b"));
  EXPECT_EQ(ResultsStore(path, ResultsStore::Mode::kReadOnly).rows().size(), 2u);
}

TEST(StoreSafety, TheLockIsReleasedWithTheWriter) {
  TempDir d;
  const auto path = d.file("r.h5");
  { ResultsStore first(path); }
  ResultsStore second(path);  // no throw
  EXPECT_EQ(second.runs().size(), 2u);
}

TEST(StoreSafety, AFailedChangeLeavesTheFileAsItWas) {
  TempDir d;
  const auto path = d.file("r.h5");
  {
    ResultsStore s(path);
    s.append(ok_row("a"));
  }
  const auto before = fs::file_size(path);
  // The temporary file cannot be made (a folder is in its way): the change fails, named.
  fs::create_directory(path + ".tmp");
  const auto msg = error_of([&] {
    ResultsStore s(path);
    s.append(ok_row("b"));
  });
  EXPECT_NE(msg.find(path + ": cannot create " + path + ".tmp: Is a directory; the file is unchanged"),
            std::string::npos)
      << msg;
  EXPECT_EQ(fs::file_size(path), before);
  EXPECT_FALSE(fs::exists(path + ".tmp"));  // removed by the failed change
  EXPECT_EQ(ResultsStore(path, ResultsStore::Mode::kReadOnly).rows().size(), 1u);
}

TEST(StoreSafety, DamagedAndForeignFilesAreNamed) {
  TempDir d;
  const auto missing = error_of([&] { ResultsStore(d.file("none.h5"), ResultsStore::Mode::kReadOnly); });
  EXPECT_NE(missing.find("none.h5: no such results file"), std::string::npos) << missing;

  { std::ofstream(d.file("text.h5")) << "sweep: demo\n"; }
  const auto text = error_of([&] { ResultsStore(d.file("text.h5"), ResultsStore::Mode::kReadOnly); });
  EXPECT_NE(text.find("text.h5: not an HDF5 file"), std::string::npos) << text;

  {
    ResultsStore s(d.file("good.h5"));
    for (const char* id : {"a", "b", "c"}) s.append(ok_row(id));
  }
  fs::copy_file(d.file("good.h5"), d.file("cut.h5"));
  fs::resize_file(d.file("cut.h5"), fs::file_size(d.file("good.h5")) / 2);
  const auto cut = error_of([&] { ResultsStore(d.file("cut.h5"), ResultsStore::Mode::kReadOnly).rows(); });
  EXPECT_NE(cut.find("cut.h5"), std::string::npos) << cut;
  EXPECT_NE(cut, "no error");

  // An HDF5 file of qsweep's schema without the results tables (a shard, say).
  { auto f = h5::File::create(d.file("shardlike.h5"), kSchemaVersion); }
  const auto foreign = error_of([&] { ResultsStore(d.file("shardlike.h5"), ResultsStore::Mode::kReadOnly); });
  EXPECT_NE(foreign.find("shardlike.h5: no /tasks table; not a qsweep results file"), std::string::npos) << foreign;
}

}  // namespace
}  // namespace qsweep::results
