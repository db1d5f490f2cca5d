#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "results/anchors.h"
#include "results/renderer.h"
#include "results/table.h"

namespace qsweep::results {
namespace {

const std::vector<std::string> kModels = {"resnet18", "resnet50", "mobilenetv2_1.0", "regnetx600m", "regnetx800m"};

struct SeedRow {
  std::string backend, w, a;
  int wbit, abit;
  std::vector<double> top1;
};

// The seed file's own numbers (tables A and B), keyed by registry names.
std::vector<SeedRow> seed_rows() {
  return {
      {"academic", "none", "none", 32, 32, {71.06, 77.94, 72.68, 73.60, 74.83}},
      {"academic", "minmax", "ema_minmax", 8, 8, {70.93, 77.67, 72.51, 73.48, 74.85}},
      {"academic", "minmax", "ema_quantile_legacy", 8, 8, {70.89, 77.70, 72.52, 73.51, 74.82}},
      {"academic", "mse", "ema_mse", 8, 8, {70.88, 77.89, 72.55, 73.61, 74.83}},
      {"academic", "minmax", "ema_minmax", 4, 8, {52.25, 73.50, 24.76, 60.37, 57.25}},
      {"academic", "minmax", "ema_quantile_legacy", 4, 8, {52.20, 73.45, 24.75, 60.26, 57.38}},
      {"academic", "mse", "ema_mse", 4, 8, {54.96, 72.60, 27.03, 62.30, 57.93}},
      {"academic", "adaround", "ema_mse", 4, 8, {70.35, 76.87, 71.82, 72.32, 73.58}},
      {"tensorrt", "none", "none", 32, 32, {70.63, 77.94, 72.68, 73.60, 74.83}},
      {"tensorrt", "minmax", "ema_minmax", 8, 8, {70.33, 76.72, 72.50, 73.28, 74.75}},
      {"tensorrt", "mse", "ema_mse", 8, 8, {70.55, 77.79, 72.56, 73.41, 74.70}},
  };
}

TaskRow make_row(const std::string& backend, const std::string& w, const std::string& a, int wbit, int abit,
                 const std::string& model, double top1, const std::string& status = "ok") {
  TaskRow r;
  r.id = backend + "-" + w + "-" + a + "-" + std::to_string(wbit) + "-" + std::to_string(abit) + "-" + model;
  r.backend = backend, r.w_calib = w, r.a_calib = a, r.wbit = wbit, r.abit = abit, r.model = model;
  r.status = status;
  r.top1 = top1;
  return r;
}

// Task rows for every seed cell, deliberately out of table order (last row first, models
// reversed, TensorRT before Academic) so that ordering is build_table's work.
std::vector<TaskRow> seed_task_rows() {
  std::vector<TaskRow> rows;
  auto seed = seed_rows();
  for (auto it = seed.rbegin(); it != seed.rend(); ++it) {
    for (size_t m = kModels.size(); m-- > 0;) {
      rows.push_back(make_row(it->backend, it->w, it->a, it->wbit, it->abit, kModels[m], it->top1[m]));
    }
  }
  return rows;
}

std::string render_text(const ResultsTable& t, const std::string& format) {
  std::ostringstream out;
  render(t, *make_renderer(format, out));
  return out.str();
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(RenderRst, SeedTablesByteIdenticalToFixture) {
  const std::string expected = read_text(QSWEEP_SOURCE_DIR "/tests/results/data/seed_tables.rst");
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(render_text(build_table(seed_task_rows(), {}, nullptr, false, Labels::kPublished), "rst"), expected);
}

TEST(RenderRst, SeedTablesByteIdenticalToSeedFile) {
  const std::string path = QSWEEP_SOURCE_DIR "/../shared/seed/000_da527c388064e3dc.txt";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not present";
  const std::string seed = read_text(path);
  const size_t start = seed.find("- Backend: Academic");
  ASSERT_NE(start, std::string::npos);
  EXPECT_EQ(render_text(build_table(seed_task_rows(), {}, nullptr, false, Labels::kPublished), "rst"), seed.substr(start));
}

// By default the legacy quantile rows say they are not quantile clipping: a † label, its footnote
// once after the last table, and grid borders that count the † as one column.
TEST(RenderRst, LegacyQuantileRowsAreMarkedWithOneFootnote) {
  const auto t = build_table(seed_task_rows(), {});
  ASSERT_EQ(t.context.footnotes.size(), 1u);
  EXPECT_EQ(t.context.footnotes[0].rfind("\u2020 EMAQuantile as the published numbers were made", 0), 0u);
  const std::string text = render_text(t, "rst");
  EXPECT_NE(text.find("| MinMax        | EMAQuantile\u2020  | Academic |"), std::string::npos) << text;
  EXPECT_EQ(text.find("| EMAQuantile  "), std::string::npos);  // no unmarked legacy row
  const size_t note = text.find("\u2020 EMAQuantile as");
  ASSERT_NE(note, std::string::npos);
  EXPECT_GT(note, text.rfind("+---"));  // after the last table
  EXPECT_EQ(text.find("\u2020 EMAQuantile as", note + 1), std::string::npos);  // once
  // Marked and published tables differ only in the mark and the footnote.
  std::string unmarked = text.substr(0, text.rfind("\n\n\u2020") + 1);
  for (size_t at; (at = unmarked.find("EMAQuantile\u2020 ")) != std::string::npos;) {
    unmarked.replace(at, std::string("EMAQuantile\u2020 ").size(), "EMAQuantile  ");
  }
  EXPECT_EQ(unmarked, render_text(build_table(seed_task_rows(), {}, nullptr, false, Labels::kPublished), "rst"));
}

TEST(RenderRst, CorrectedQuantileRowCarriesNoMark) {
  const auto t = build_table({make_row("academic", "minmax", "ema_quantile", 8, 8, "resnet18", 70.0)}, {});
  EXPECT_TRUE(t.context.footnotes.empty());
  EXPECT_EQ(t.backends.at(0).at(0).a_calib, "EMAQuantile");
}

TEST(BuildTable, OrdersColumnsRowsAndBackendsLikeTheSeed) {
  auto rows = seed_task_rows();
  rows.push_back(make_row("academic", "mse", "ema_minmax", 6, 6, "my_net", 50.0));  // unknown row and model
  const auto t = build_table(rows, {});
  EXPECT_EQ(t.context.models, (std::vector<std::string>{"resnet18", "resnet50", "mobilenetv2_1.0", "regnetx600m",
                                                        "regnetx800m", "my_net"}));
  ASSERT_EQ(t.backends.size(), 2u);
  EXPECT_EQ(t.backends[0].front().backend, "Academic");
  EXPECT_EQ(t.backends[1].front().backend, "TensorRT");
  const auto& academic = t.backends[0];
  ASSERT_EQ(academic.size(), 9u);
  EXPECT_EQ(academic.front().w_calib, "None");
  EXPECT_EQ(academic[2].a_calib, "EMAQuantile\u2020");  // the legacy observer, marked
  EXPECT_EQ(academic.back().w_calib, "MSE");  // the unknown combination comes last
  EXPECT_EQ(academic.back().wbit, 6);
  EXPECT_FALSE(academic.front().cells.back().top1);  // my_net has no FP32 result
}

// A cell whose task failed reads "failed" (and counts in failed_cells, so render exits 3); one
// planned but not run yet reads "·" (issue 28: both read "-" with exit 0).
TEST(BuildTable, FailedAndNotRunCellsAreToldApart) {
  std::vector<TaskCell> plan = {{"p1", "resnet18", "academic", "minmax", "ema_minmax", 8, 8},
                                {"p2", "resnet50", "academic", "minmax", "ema_minmax", 8, 8}};
  std::vector<TaskRow> rows = {make_row("academic", "minmax", "ema_minmax", 8, 8, "resnet18", 0, "failed")};
  const std::string rst = render_text(build_table(rows, plan), "rst");
  EXPECT_EQ(rst,
            "- Backend: Academic\n\n"
            "+---------------+---------------+----------+------+------+----------+----------+\n"
            "| W_calibration | A_calibration | Backend  | wbit | abit | resnet18 | resnet50 |\n"
            "+===============+===============+==========+======+======+==========+==========+\n"
            "| MinMax        | EMAMinMax     | Academic | 8    | 8    | failed   | \u00b7        |\n"
            "+---------------+---------------+----------+------+------+----------+----------+\n");
  EXPECT_EQ(failed_cells(build_table(rows, plan)), 1u);
  // A later ok row for the same cell fills it.
  rows.push_back(make_row("academic", "minmax", "ema_minmax", 8, 8, "resnet18", 70.931));
  const auto t = build_table(rows, plan);
  EXPECT_EQ(failed_cells(t), 0u);
  EXPECT_DOUBLE_EQ(*t.backends[0][0].cells[0].top1, 70.931);
  EXPECT_FALSE(t.backends[0][0].cells[1].top1);
}

TEST(RenderMd, Table) {
  std::vector<TaskRow> rows = {make_row("tensorrt", "minmax", "ema_minmax", 8, 8, "resnet18", 70.333),
                               make_row("tensorrt", "none", "none", 32, 32, "resnet18", 70.63),
                               make_row("academic", "none", "none", 32, 32, "resnet50", 77.94)};
  EXPECT_EQ(render_text(build_table(rows, {}), "md"),
            "- Backend: Academic\n\n"
            "| W_calibration | A_calibration | Backend | wbit | abit | resnet18 | resnet50 |\n"
            "|---|---|---|---|---|---|---|\n"
            "| None | None | Academic | 32 | 32 | \u00b7 | 77.94 |\n"
            "\n- Backend: TensorRT\n\n"
            "| W_calibration | A_calibration | Backend | wbit | abit | resnet18 | resnet50 |\n"
            "|---|---|---|---|---|---|---|\n"
            "| None | None | TensorRT | 32 | 32 | 70.63 | \u00b7 |\n"
            "| MinMax | EMAMinMax | TensorRT | 8 | 8 | 70.33 | \u00b7 |\n");
}

TEST(RenderCsv, Table) {
  std::vector<TaskRow> rows = {make_row("academic", "mse", "ema_mse", 4, 8, "resnet18", 54.9612),
                               make_row("academic", "none", "none", 32, 32, "mobilenetv2_1.0", 72.68)};
  EXPECT_EQ(render_text(build_table(rows, {}), "csv"),
            "W_calibration,A_calibration,Backend,wbit,abit,resnet18,mobilenetv2_1.0\n"
            "None,None,Academic,32,32,-,72.68\n"
            "MSE,EMAMSE,Academic,4,8,54.96,-\n");
}

TEST(Render, UnknownFormatListsKnownOnes) {
  std::ostringstream out;
  try {
    make_renderer("rts", out);
    FAIL() << "no error";
  } catch (const ResultsError& e) {
    EXPECT_EQ(std::string(e.what()), "unknown table format 'rts'; did you mean 'rst'? known: csv, md, rst");
  }
  EXPECT_EQ(renderer_names(), (std::vector<std::string>{"csv", "md", "rst"}));
}

// ---- anchors ----

const std::string kAnchorDir = QSWEEP_SOURCE_DIR "/sweeps/anchors/";

std::string write_temp(const std::string& name, const std::string& text) {
  const auto dir = std::filesystem::temp_directory_path() / ("qsweep_render_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / name).string();
  std::ofstream(path) << text;
  return path;
}

TEST(Anchors, CheckedInFilesLoad) {
  const std::vector<std::pair<std::string, size_t>> files = {{"mqbench_v0.0.5_academic.yaml", 40},
                                                            {"mqbench_main_academic.yaml", 40},
                                                            {"mqbench_v0.0.5_tensorrt.yaml", 15},
                                                            {"mqbench_7c03f46_advanced.yaml", 50},
                                                            {"mqbench_main_advanced.yaml", 50}};
  for (const auto& [file, cells] : files) {
    const auto a = Anchors::load(kAnchorDir + file);
    EXPECT_EQ(a.size(), cells) << file;
    EXPECT_EQ(a.sources().size(), 1u);
  }
  const auto a = Anchors::load(kAnchorDir + "mqbench_v0.0.5_academic.yaml");
  EXPECT_EQ(a.find({"academic", "minmax", "ema_minmax", 8, 8}, "resnet18"), 70.93);
  // EMAQuantile anchors judge both quantile observers (same label).
  EXPECT_EQ(a.find({"academic", "minmax", "ema_quantile", 4, 8}, "regnetx800m"), 57.38);
  EXPECT_EQ(a.find({"academic", "minmax", "ema_quantile_legacy", 4, 8}, "regnetx800m"), 57.38);
  EXPECT_FALSE(a.find({"tensorrt", "minmax", "ema_minmax", 8, 8}, "resnet18"));
  const auto ap = Anchors::load(kAnchorDir + "mqbench_main_academic.yaml");
  EXPECT_EQ(ap.find({"academic", "mse", "ema_mse", 4, 8}, "mobilenetv2_1.0"), 35.71);
  EXPECT_EQ(ap.find({"academic", "mse", "ema_mse", 4, 8}, "regnetx600m"), 62.30);
  const auto cp = Anchors::load(kAnchorDir + "mqbench_main_advanced.yaml");
  EXPECT_EQ(cp.find({"academic", "qdrop", "ema_mse", 2, 4}, "resnet50"), 69.15);
}

TEST(Anchors, MergeAcademicAndTensorRtButNotConflictingTables) {
  auto a = Anchors::load(kAnchorDir + "mqbench_v0.0.5_academic.yaml");
  a.merge(Anchors::load(kAnchorDir + "mqbench_v0.0.5_tensorrt.yaml"));
  EXPECT_EQ(a.size(), 55u);
  EXPECT_EQ(a.sources().size(), 2u);
  try {
    a.merge(Anchors::load(kAnchorDir + "mqbench_main_academic.yaml"));
    FAIL() << "no error";
  } catch (const AnchorError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("mqbench_main_academic.yaml:"), std::string::npos) << msg;
    EXPECT_NE(msg.find(" disagrees with "), std::string::npos) << msg;
    EXPECT_NE(msg.find("mqbench_v0.0.5_academic.yaml:"), std::string::npos) << msg;
  }
}

TEST(Anchors, DeltaIsDifferenceOfPrintedNumbers) {
  EXPECT_DOUBLE_EQ(anchor_delta(70.93, 71.06), -0.13);
  EXPECT_DOUBLE_EQ(anchor_delta(70.9349, 70.93), 0.0);
  EXPECT_FALSE(std::signbit(anchor_delta(70.9251, 70.93)));  // 70.93 − 70.93: +0.00, not −0.00
  EXPECT_DOUBLE_EQ(anchor_delta(52.256, 52.25), 0.01);
}

TEST(Anchors, RenderedBesideOurNumbers) {
  const auto anchors = Anchors::load(kAnchorDir + "mqbench_v0.0.5_academic.yaml");
  std::vector<TaskRow> rows = {make_row("academic", "minmax", "ema_minmax", 8, 8, "resnet18", 70.93),
                               make_row("academic", "minmax", "ema_minmax", 8, 8, "resnet50", 77.70),
                               make_row("academic", "minmax", "ema_minmax", 8, 8, "my_net", 60.0),
                               make_row("academic", "minmax", "ema_minmax", 8, 8, "regnetx600m", 0, "failed")};
  const auto t = build_table(rows, {}, &anchors);
  const auto& cells = t.backends[0][0].cells;  // resnet18, resnet50, regnetx600m, my_net
  ASSERT_EQ(cells.size(), 4u);
  EXPECT_DOUBLE_EQ(*cells[0].delta, 0.0);
  EXPECT_DOUBLE_EQ(*cells[1].anchor, 77.67);
  EXPECT_DOUBLE_EQ(*cells[1].delta, 0.03);
  EXPECT_FALSE(cells[2].top1);
  EXPECT_DOUBLE_EQ(*cells[2].anchor, 73.48);
  EXPECT_FALSE(cells[2].delta);
  EXPECT_FALSE(cells[3].anchor);
  EXPECT_EQ(render_text(t, "md"),
            "- Backend: Academic\n\n"
            "| W_calibration | A_calibration | Backend | wbit | abit | resnet18 | resnet50 | regnetx600m | my_net |\n"
            "|---|---|---|---|---|---|---|---|---|\n"
            "| MinMax | EMAMinMax | Academic | 8 | 8 | 70.93 (70.93, +0.00) | 77.70 (77.67, +0.03) | failed (73.48) | 60.00 |\n");
  EXPECT_EQ(render_text(t, "csv"),
            "W_calibration,A_calibration,Backend,wbit,abit,resnet18,resnet18_published,resnet18_delta,resnet50,"
            "resnet50_published,resnet50_delta,regnetx600m,regnetx600m_published,regnetx600m_delta,my_net,"
            "my_net_published,my_net_delta\n"
            "MinMax,EMAMinMax,Academic,8,8,70.93,70.93,+0.00,77.70,77.67,+0.03,failed,73.48,-,60.00,-,-\n");
  const std::string rst = render_text(t, "rst");
  EXPECT_NE(rst.find("| 77.70 (77.67, +0.03) | failed (73.48) | 60.00  |\n"), std::string::npos) << rst;
}

TEST(Anchors, SeedTableWithItsOwnAnchorsHasZeroDeltas) {
  auto anchors = Anchors::load(kAnchorDir + "mqbench_v0.0.5_academic.yaml");
  anchors.merge(Anchors::load(kAnchorDir + "mqbench_v0.0.5_tensorrt.yaml"));
  const auto t = build_table(seed_task_rows(), {}, &anchors);
  size_t n = 0;
  for (const auto& table : t.backends) {
    for (const auto& row : table) {
      for (const auto& c : row.cells) {
        ASSERT_TRUE(c.delta);
        EXPECT_EQ(*c.delta, 0.0);
        ++n;
      }
    }
  }
  EXPECT_EQ(n, 55u);
}

void expect_anchor_error(const std::string& yaml, const std::string& expected) {
  const auto path = write_temp("bad.yaml", yaml);
  try {
    Anchors::load(path);
    FAIL() << "no error for:\n" << yaml;
  } catch (const AnchorError& e) {
    EXPECT_EQ(std::string(e.what()), path + ":" + expected);
  }
}

TEST(Anchors, ErrorsNameFileLineAndColumn) {
  const std::string head = "source: test\ndataset: imagenet\nweights: w\nentries:\n";
  expect_anchor_error(head + "  - {w_calib: minmax, a_calib: ema_minmax, backend: academic, wbit: 8, abit: 8,\n"
                             "     top1: {resnet18: 70.9}, wbits: 3}\n",
                      "6:30: unknown anchor entry key 'wbits'; did you mean 'wbit'? known: w_calib, a_calib, "
                      "backend, wbit, abit, top1");
  expect_anchor_error(head + "  - {w_calib: minmax, a_calib: emamse, backend: academic, wbit: 8, abit: 8, top1: {resnet18: 1}}\n",
                      "5:32: a_calib: unknown calibrator 'emamse'; did you mean 'ema_mse'? known: none, minmax, "
                      "ema_minmax, ema_quantile, ema_quantile_legacy, mse, ema_mse, adaround, brecq, qdrop");
  expect_anchor_error(head + "  - {w_calib: minmax, a_calib: ema_mse, backend: academic, wbit: 9x, abit: 8, top1: {resnet18: 1}}\n",
                      "5:66: wbit: '9x' is not an integer");
  expect_anchor_error(head + "  - {w_calib: minmax, a_calib: ema_mse, backend: academic, wbit: 8, abit: 8, top1: {resnet18: 101}}\n",
                      "5:95: top1.resnet18: 101 not in [0, 100]");
  expect_anchor_error(head + "  - {w_calib: minmax, a_calib: ema_mse, backend: academic, wbit: 8, abit: 8, top1: {resnt18: 1}}\n",
                      "5:85: top1: unknown model 'resnt18'; did you mean 'resnet18'? known: resnet18, resnet50, "
                      "mobilenetv2_1.0, regnetx600m, regnetx800m");
  expect_anchor_error(head + "  - {w_calib: minmax, a_calib: ema_mse, backend: academic, wbit: 8, abit: 8}\n",
                      "5:5: anchor entry is missing key 'top1'");
  expect_anchor_error("source: test\nentries: [\n", "3:1: end of sequence flow not found");
}

}  // namespace
}  // namespace qsweep::results
