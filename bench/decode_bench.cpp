// ImageNet validation preprocessing throughput, one core: JPEG decode + Resize(256) +
// CenterCrop(224) per image with qsweep (libjpeg-turbo + the PIL-exact resize), next to
// torchvision's PIL path on the same images (tools/imagenet_val_reference.py, spawned here with
// Debian's /usr/bin/python3), printed as a ratio measured in one run. Both sides read the files
// (page cache warm after the first pass) and produce CHW uint8; neither writes a shard.
//
//   build/decode_bench [--root ../shared/data/imagenet-sample/val] [--limit 1000] [--reps 3]
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

#include "data/sources/image_folder.h"
#include "data/transforms/imagenet_transform.h"

using namespace qsweep::data;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Runs the reference script and returns its measured seconds for `n` images (or -1).
double python_seconds(const std::string& root, int64_t limit, const std::string& tmp) {
  const std::string cmd = fmt::format("/usr/bin/python3 {}/tools/imagenet_val_reference.py {} {} --limit {} --time",
                                      QSWEEP_SOURCE_DIR, root, tmp, limit);
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
  if (!p) return -1;
  char line[256];
  double s = -1;
  long n = 0;
  while (std::fgets(line, sizeof line, p.get())) std::sscanf(line, "images=%ld seconds=%lf", &n, &s);
  std::remove(tmp.c_str());
  std::remove((tmp + ".labels").c_str());
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Decode+resize+crop throughput per core: qsweep vs PIL+torchvision on the same images"};
  std::string root = std::string(QSWEEP_SOURCE_DIR) + "/../shared/data/imagenet-sample/val";
  int64_t limit = 1000;
  int reps = 3;
  app.add_option("--root", root, "ImageFolder split with JPEGs")->check(CLI::ExistingDirectory)->capture_default_str();
  app.add_option("--limit", limit, "images (first N in ImageFolder order)")->capture_default_str();
  app.add_option("--reps", reps, "passes per side; the best is reported")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const ImageFolder folder = scan_image_folder(root);
  const int64_t n = std::min<int64_t>(limit, static_cast<int64_t>(folder.files.size()));
  std::vector<uint8_t> out(3 * 224 * 224);
  double best = 1e30, best_decode = 0;
  int64_t pixels = 0;
  for (int r = 0; r < reps + 1; ++r) {  // pass 0 warms the page cache
    double decode_s = 0;
    const auto t0 = Clock::now();
    pixels = 0;
    for (int64_t i = 0; i < n; ++i) {
      const auto td = Clock::now();
      const RgbImage img = decode_jpeg_rgb(folder.root + "/" + folder.files[i]);
      decode_s += seconds_since(td);
      pixels += img.height * img.width;
      val_transform(img, 256, 224, out.data());
    }
    const double s = seconds_since(t0);
    if (r > 0 && s < best) {
      best = s;
      best_decode = decode_s;
    }
  }
  fmt::print("images: {} from {} (mean {:.0f} kpixel)\n", n, root, static_cast<double>(pixels) / n / 1000);
  fmt::print(
      "qsweep (libjpeg-turbo + PIL-exact resize), 1 thread: {:8.1f} img/s  ({:.2f} ms/img: decode {:.2f}, "
      "resize+crop {:.2f})\n",
      n / best, 1000 * best / n, 1000 * best_decode / n, 1000 * (best - best_decode) / n);
  double py = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double s = python_seconds(root, n, "/tmp/qsweep_decode_bench.u8");
    if (s > 0) py = std::min(py, s);
  }
  if (py >= 1e30) {
    fmt::print("PIL + torchvision: not measured (/usr/bin/python3 with torchvision needed)\n");
    return 0;
  }
  fmt::print(
      "PIL + torchvision (ImageFolder loader + Resize + CenterCrop), 1 process: {:8.1f} img/s  ({:.2f} ms/img)\n",
      n / py, 1000 * py / n);
  fmt::print("ratio qsweep / PIL: {:.2f}x\n", py / best);
  return 0;
}
