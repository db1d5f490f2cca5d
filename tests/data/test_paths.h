// Where the data tests find shared inputs: env QSWEEP_SHARED, else <repo>/../shared (the
// workspace layout), and whether Debian's torchvision is available for reference values.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace qsweep::test {

inline std::string shared_dir() {
  if (const char* env = std::getenv("QSWEEP_SHARED")) return env;
  return std::string(QSWEEP_SOURCE_DIR) + "/../shared";
}

inline std::string imagenet_sample() { return shared_dir() + "/data/imagenet-sample"; }

inline const char* kFashionMnist = "/usr/share/datasets/fashion-mnist";

// /usr/bin/python3 is Debian's interpreter with python3-torchvision; the `python3` on PATH may
// be another one without torch.
inline bool have_torchvision() { return std::system("/usr/bin/python3 -c 'import torchvision' >/dev/null 2>&1") == 0; }

// A fresh empty folder under gtest's temp dir.
inline std::string fresh_dir(const std::string& name) {
  const std::string d = ::testing::TempDir() + "qsweep_" + name;
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

}  // namespace qsweep::test
