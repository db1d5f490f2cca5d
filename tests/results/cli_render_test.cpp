// End to end: a results file holding the seed's numbers, rendered by the `qsweep render` binary.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "results/store.h"

namespace qsweep::results {
namespace {

namespace fs = std::filesystem;

struct Out {
  int rc;
  std::string text;
};

Out run(const std::string& args) {
  const std::string cmd = std::string(QSWEEP_BINARY_DIR "/qsweep ") + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (p && fgets(buf, sizeof(buf), p)) out += buf;
  const int status = p ? pclose(p) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(CliRender, SeedNumbersFromAResultsFile) {
  if (!fs::exists(QSWEEP_BINARY_DIR "/qsweep")) GTEST_SKIP() << "qsweep binary not built";
  const fs::path dir = fs::temp_directory_path() / ("qsweep_cli_render_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string h5 = (dir / "seed.h5").string();
  const std::vector<std::string> models = {"resnet18", "resnet50", "mobilenetv2_1.0", "regnetx600m", "regnetx800m"};
  struct Row {
    const char *backend, *w, *a;
    int wbit, abit;
    std::vector<double> top1;
  };
  const std::vector<Row> seed = {
      {"academic", "none", "none", 32, 32, {71.06, 77.94, 72.68, 73.60, 74.83}},
      {"academic", "minmax", "ema_minmax", 8, 8, {70.93, 77.67, 72.51, 73.48, 74.85}},
      {"academic", "minmax", "ema_quantile", 8, 8, {70.89, 77.70, 72.52, 73.51, 74.82}},
      {"academic", "mse", "ema_mse", 8, 8, {70.88, 77.89, 72.55, 73.61, 74.83}},
      {"academic", "minmax", "ema_minmax", 4, 8, {52.25, 73.50, 24.76, 60.37, 57.25}},
      {"academic", "minmax", "ema_quantile", 4, 8, {52.20, 73.45, 24.75, 60.26, 57.38}},
      {"academic", "mse", "ema_mse", 4, 8, {54.96, 72.60, 27.03, 62.30, 57.93}},
      {"academic", "adaround", "ema_mse", 4, 8, {70.35, 76.87, 71.82, 72.32, 73.58}},
      {"tensorrt", "none", "none", 32, 32, {70.63, 77.94, 72.68, 73.60, 74.83}},
      {"tensorrt", "minmax", "ema_minmax", 8, 8, {70.33, 76.72, 72.50, 73.28, 74.75}},
      {"tensorrt", "mse", "ema_mse", 8, 8, {70.55, 77.79, 72.56, 73.41, 74.70}},
  };
  {
    ResultsStore store(h5);
    store.set_dataset("imagenet");  // the seed's numbers: the anchors' dataset
    int n = 0;
    for (const auto& r : seed) {
      for (size_t m = 0; m < models.size(); ++m) {
        TaskRow row;
        row.id = "t" + std::to_string(n++);
        row.model = models[m], row.backend = r.backend, row.w_calib = r.w, row.a_calib = r.a;
        row.wbit = r.wbit, row.abit = r.abit, row.status = "ok", row.top1 = r.top1[m];
        store.append(row);
      }
    }
    store.finish();
  }
  const std::string expected = read_text(QSWEEP_SOURCE_DIR "/tests/results/data/seed_tables.rst");
  const Out rst = run("render " + h5 + " --format rst");
  EXPECT_EQ(rst.rc, 0);
  EXPECT_EQ(rst.text, expected);  // `render` is the default format too
  EXPECT_EQ(run("render " + h5).text, expected);

  const std::string out = (dir / "table.csv").string();
  const Out csv = run("render " + h5 + " --format csv --out " + out + " --anchors " QSWEEP_SOURCE_DIR
                      "/sweeps/anchors/mqbench_v0.0.5_academic.yaml --anchors " QSWEEP_SOURCE_DIR
                      "/sweeps/anchors/mqbench_v0.0.5_tensorrt.yaml");
  EXPECT_EQ(csv.rc, 0) << csv.text;
  const std::string table = read_text(out);
  EXPECT_NE(table.find("MinMax,EMAQuantile,Academic,4,8,52.20,52.20,+0.00,73.45,73.45,+0.00"), std::string::npos)
      << table;

  const Out bad = run("render " + h5 + " --format html");
  EXPECT_NE(bad.rc, 0);
  EXPECT_NE(bad.text.find("html not in {csv,md,rst}"), std::string::npos) << bad.text;
  const Out missing = run("render " + (dir / "none.h5").string());
  EXPECT_NE(missing.rc, 0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace qsweep::results
