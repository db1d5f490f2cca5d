// Two processes reading the same shard share its pages: each maps the whole file and touches
// every image, yet each is charged (Pss) about half the bytes, because the pages are the node's
// page cache mapped twice, not two private copies. This is what lets every rank on a node map the
// ImageNet shards at the cost of one copy.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "data/shard/shard.h"
#include "test_paths.h"

namespace qsweep::data {
namespace {

struct MapUsage {
  long rss_kb = -1, pss_kb = -1;
};

// Rss and Pss of the /proc/self/smaps entry containing `addr`.
MapUsage usage_of(const void* addr) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  const auto a = reinterpret_cast<uintptr_t>(addr);
  bool inside = false;
  MapUsage u;
  while (std::getline(smaps, line)) {
    uintptr_t lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
      if (inside) break;
      inside = lo <= a && a < hi;
      continue;
    }
    if (!inside) continue;
    long kb = 0;
    if (std::sscanf(line.c_str(), "Rss: %ld kB", &kb) == 1) u.rss_kb = kb;
    if (std::sscanf(line.c_str(), "Pss: %ld kB", &kb) == 1) u.pss_kb = kb;
  }
  return u;
}

TEST(ShardMemory, TwoReadersShareOneCopy) {
  const std::string path = test::fresh_dir("shard_memory") + "/big.h5";
  ShardInfo info;
  info.path = path;
  info.split = "val";
  info.source = "synthetic";
  info.transform = "none";
  info.channels = 3;
  info.height = info.width = 128;
  info.mean = {0.f, 0.f, 0.f};
  info.std = {1.f, 1.f, 1.f};
  info.class_names = std::vector<std::string>(640, "c");  // labels must name a class
  const int64_t n = 640;  // 31.5 MB of pixels
  {
    ShardWriter w(info);
    std::vector<uint8_t> img(3 * 128 * 128);
    for (int64_t i = 0; i < n; ++i) {
      std::memset(img.data(), static_cast<int>(i), img.size());
      w.append(img.data(), &i, 1);
    }
    w.finish();
  }
  const long shard_kb = n * 3 * 128 * 128 / 1024;

  int ready[2], go[2][2], result[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(result), 0);
  pid_t pids[2];
  for (int c = 0; c < 2; ++c) {
    ASSERT_EQ(pipe(go[c]), 0);
    pids[c] = fork();
    ASSERT_GE(pids[c], 0);
    if (pids[c] == 0) {
      // Child: open and map independently, touch every page, wait until the sibling has too,
      // then report this process's charge for the mapping while both still map it. Only plain C++ here (no ATen ops).
      const Shard s = Shard::open(path);
      uint64_t sum = 0;
      for (int64_t i = 0; i < n; ++i) {
        const uint8_t* p = s.image_data(i);
        for (int64_t k = 0; k < 3 * 128 * 128; k += 1024) sum += p[k];
      }
      char b = static_cast<char>(sum & 1);
      if (write(ready[1], &b, 1) != 1 || read(go[c][0], &b, 1) != 1) _exit(3);
      const MapUsage u = usage_of(s.image_data(0));
      // Stay mapped until the sibling has measured too (the parent sends a second byte).
      if (write(result[1], &u, sizeof u) != sizeof u || read(go[c][0], &b, 1) != 1) _exit(4);
      _exit(0);
    }
  }
  char b;
  for (int c = 0; c < 2; ++c) ASSERT_EQ(read(ready[0], &b, 1), 1);
  for (int c = 0; c < 2; ++c) ASSERT_EQ(write(go[c][1], "g", 1), 1);
  MapUsage u[2];
  for (int c = 0; c < 2; ++c) ASSERT_EQ(read(result[0], &u[c], sizeof u[c]), static_cast<ssize_t>(sizeof u[c]));
  for (int c = 0; c < 2; ++c) ASSERT_EQ(write(go[c][1], "d", 1), 1);
  for (int c = 0; c < 2; ++c) {
    int status = 0;
    waitpid(pids[c], &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  for (int c = 0; c < 2; ++c) {
    // Each child has the whole shard resident but pays about half of it.
    EXPECT_GE(u[c].rss_kb, shard_kb * 95 / 100) << "child " << c;
    EXPECT_LE(u[c].pss_kb, shard_kb * 55 / 100) << "child " << c << " rss " << u[c].rss_kb;
    EXPECT_GE(u[c].pss_kb, shard_kb * 45 / 100) << "child " << c;
  }
  std::printf("shard %ld kB; per reader: Rss %ld / %ld kB, Pss %ld / %ld kB (sum of Pss %ld kB)\n", shard_kb,
              u[0].rss_kb, u[1].rss_kb, u[0].pss_kb, u[1].pss_kb, u[0].pss_kb + u[1].pss_kb);
}

}  // namespace
}  // namespace qsweep::data
