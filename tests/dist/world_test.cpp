// dist::World as a singleton (no mpirun; MPI cannot be re-initialised after MPI_Finalize, so only
// one test in this binary may construct a World) and `qsweep prepare imagenet` under mpirun -np 2: the
// two ranks split the files, rank 0 writes, and the shard is byte-identical to a one-process run.
#include "dist/world.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/shard/shard.h"

namespace qsweep::dist {
namespace fs = std::filesystem;
namespace {

TEST(World, SingletonWithoutMpirun) {
  World world(nullptr, nullptr);
  EXPECT_EQ(world.rank(), 0);
  EXPECT_EQ(world.size(), 1);
  const auto g = world.gather({1, 2, 3});
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0], (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_TRUE(world.any(true));
  EXPECT_FALSE(world.any(false));
  world.barrier();
}

std::string shared_sample() {
  if (const char* env = std::getenv("QSWEEP_SHARED")) return std::string(env) + "/data/imagenet-sample";
  return std::string(QSWEEP_SOURCE_DIR) + "/../shared/data/imagenet-sample";
}

TEST(World, PrepareUnderMpirunMatchesOneProcess) {
  if (std::system("command -v mpirun >/dev/null 2>&1") != 0) GTEST_SKIP() << "no mpirun";
  if (!fs::exists(shared_sample() + "/val")) GTEST_SKIP() << "no " << shared_sample();
  const std::string dir = ::testing::TempDir() + "qsweep_world_prepare";
  fs::remove_all(dir);
  fs::create_directories(dir + "/root");
  fs::create_directory_symlink(shared_sample() + "/val", dir + "/root/val");
  fs::create_directory_symlink(shared_sample() + "/val", dir + "/root/train");
  const std::string qsweep = std::string(QSWEEP_BINARY_DIR) + "/qsweep";
  const std::string args = " prepare imagenet --root " + dir + "/root --no-val --calib 40 --no-progress --out ";
  // Open MPI refuses root without these (scripts/env.sh sets them for users).
  const std::string env = "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ";
  ASSERT_EQ(std::system((env + "mpirun -np 2 --oversubscribe " + qsweep + args + dir + "/two >/dev/null").c_str()), 0);
  ASSERT_EQ(std::system((qsweep + args + dir + "/one >/dev/null").c_str()), 0);
  const auto one = data::Shard::open(dir + "/one/calib.h5");
  const auto two = data::Shard::open(dir + "/two/calib.h5");
  EXPECT_EQ(two.size(), 40);
  EXPECT_EQ(one.info().fingerprint, two.info().fingerprint);
  EXPECT_EQ(one.provenance().crop_boxes, two.provenance().crop_boxes);
}

}  // namespace
}  // namespace qsweep::dist
