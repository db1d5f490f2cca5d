// Export, compare, plots, row-field coverage and the anchors' dataset check.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "pipeline/task.h"
#include "results/anchors.h"
#include "results/compare.h"
#include "results/export.h"
#include "results/plot_svg.h"
#include "results/row_fields.h"
#include "results/store.h"
#include "temp_dir.h"
#include "results/table.h"
#include "support/cell_filter.h"

namespace qsweep::results {
namespace {

namespace fs = std::filesystem;

// Stops compiling when a member is added to TaskRow (a line of results/row_fields.def or
// cell_fields.def, from which every encoder is generated): name it here and count it below.
[[maybe_unused]] void RowFieldCountGuard(TaskRow& r) {
  [[maybe_unused]] auto& [id, model, backend, w_calib, a_calib, wbit, abit, status, top1, top5, top1_count, top5_count,
                          total, sp, sca, scw, sr, se, st, rank, host, device, error, started, finished, weights_sha256,
                          data_fingerprint, deploy, int_top1, int_top1_count, agree, sdc, ranks, a_stats, layers] = r;
}

struct TempDir : testing::TempDir {
  TempDir() : testing::TempDir("qsweep_surface_test_") {}
};

TaskRow row(const std::string& id, const std::string& model, int wbit, double top1, const std::string& sha = "aa") {
  TaskRow r;
  r.id = id, r.model = model, r.backend = "academic";
  r.w_calib = wbit == 32 ? "none" : "minmax", r.a_calib = wbit == 32 ? "none" : "ema_minmax";
  r.wbit = wbit, r.abit = wbit == 32 ? 32 : 8, r.status = "ok", r.top1 = top1, r.total = 10000;
  r.top1_count = static_cast<int64_t>(std::llround(top1 * 100));
  r.weights_sha256 = sha, r.data_fingerprint = "fp";
  return r;
}

std::vector<pipeline::QuantizerRecord> quantizers() {
  pipeline::QuantizerRecord w;
  w.name = "conv1.weight_fake_quant", w.is_weight = true, w.bits = 8, w.qmin = -128, w.qmax = 127;
  w.scale = {0.01f, 0.02f}, w.zero_point = {0, 0}, w.min_val = {-1.f, -2.f}, w.max_val = {1.f, 2.f}, w.sqnr_db = 41.5;
  pipeline::QuantizerRecord a;
  a.name = "relu_post_act_fake_quantizer", a.bits = 8, a.qmin = 0, a.qmax = 255;
  a.scale = {0.05f}, a.zero_point = {3}, a.min_val = {-0.1f}, a.max_val = {12.5f};
  a.sqnr_db = std::numeric_limits<double>::infinity();
  return {w, a};
}

// A file with a plan (configs per id), an FP32 and two W8A8 rows (r50's W8A8 tried twice).
void write_file(const std::string& path, double r18_w8 = 91.5, const std::string& sha = "aa", bool with_r50 = true) {
  ResultsStore s(path);
  nlohmann::json plan = nlohmann::json::array();
  for (const char* id : {"f18", "q18", "q50"}) {
    plan.push_back({{"id", id}, {"cost", 1.0}, {"config", {{"seed", 1005}, {"options", {{"a_p", 2.0}}},
                                                           {"weights_sha256", sha}, {"data_fingerprint", "fp"}}}});
  }
  s.write_plan("t", "sweep: t\n", plan.dump(), {});
  s.set_dataset("fashion-mnist");
  s.append(row("f18", "resnet18", 32, 92.36, sha));
  s.append(row("q18", "resnet18", 8, r18_w8, sha), quantizers());
  if (with_r50) {
    auto failed = row("q50", "resnet50", 8, 0, sha);
    failed.status = "failed", failed.error = "boom, \"quoted\"";
    s.append(failed);
    s.append(row("q50", "resnet50", 8, 90.25, sha), quantizers());
  }
  s.finish();
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(RowFields, EveryMemberOnceInColumnOrder) {
  const auto names = row_field_names();
  EXPECT_EQ(names.size(), 35u);  // = the members named in RowFieldCountGuard
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
  EXPECT_EQ(names.front(), "id");
  EXPECT_EQ(field_text(FieldValue{0.1}), "0.1");
  EXPECT_EQ(field_text(FieldValue{int64_t{-3}}), "-3");
}

TEST(Export, TidyCsvHasEveryFieldAndTheConfiguration) {
  TempDir d;
  write_file(d.file("r.h5"));
  const ResultsStore s(d.file("r.h5"), ResultsStore::Mode::kReadOnly);
  std::ostringstream csv;
  export_tasks(s, ExportFormat::kCsv, csv);
  const auto l = lines(csv.str());
  ASSERT_EQ(l.size(), 4u);  // header + one row per task id (the newest attempt)
  const std::string header = l[0];
  for (const auto& f : row_field_names()) EXPECT_NE(header.find(f), std::string::npos) << f;
  EXPECT_NE(header.find("config.options.a_p"), std::string::npos) << header;
  EXPECT_NE(header.find("config.seed"), std::string::npos) << header;
  EXPECT_EQ(l[3].rfind("q50,resnet50,academic,minmax,ema_minmax,8,8,ok,90.25,", 0), 0u) << l[3];

  std::ostringstream all;
  export_tasks(s, ExportFormat::kCsv, all, {true});
  EXPECT_EQ(lines(all.str()).size(), 5u);
  EXPECT_NE(all.str().find("\"boom, \"\"quoted\"\"\""), std::string::npos) << all.str();  // RFC 4180 quoting
}

TEST(Export, JsonlLinesParseAndKeepTheConfigNested) {
  TempDir d;
  write_file(d.file("r.h5"));
  const ResultsStore s(d.file("r.h5"), ResultsStore::Mode::kReadOnly);
  std::ostringstream out;
  export_tasks(s, ExportFormat::kJsonl, out);
  const auto l = lines(out.str());
  ASSERT_EQ(l.size(), 3u);
  const auto j = nlohmann::json::parse(l[1]);
  EXPECT_EQ(j.at("id"), "q18");
  EXPECT_EQ(j.at("top1_count"), 9150);
  EXPECT_EQ(j.at("config").at("options").at("a_p"), 2.0);
  EXPECT_EQ(j.size(), row_field_names().size() + 1);
}

TEST(Export, QuantizerLongFormOneRowPerChannel) {
  TempDir d;
  write_file(d.file("r.h5"));
  const ResultsStore s(d.file("r.h5"), ResultsStore::Mode::kReadOnly);
  std::ostringstream csv;
  export_quantizers(s, ExportFormat::kCsv, csv);
  const auto l = lines(csv.str());
  // q18 and q50: 2 weight channels + 1 activation each; the FP32 row has none.
  ASSERT_EQ(l.size(), 1u + 2 * 3);
  EXPECT_EQ(l[1], "q18,resnet18,academic,minmax,ema_minmax,8,8,conv1.weight_fake_quant,1,8,-128,127,0,0.01,0,-1,1,41.5");
  EXPECT_EQ(l[3].substr(l[3].size() - 4), ",inf");  // an exact quantizer
  std::ostringstream jsonl;
  export_quantizers(s, ExportFormat::kJsonl, jsonl);
  const auto j = nlohmann::json::parse(lines(jsonl.str())[2]);
  EXPECT_EQ(j.at("sqnr_db"), "inf");
  EXPECT_EQ(j.at("zero_point"), 3);
  EXPECT_THROW(export_format("xlsx"), ResultsError);
}

TEST(Export, SqnrSurvivesTheStore) {
  TempDir d;
  write_file(d.file("r.h5"));
  const ResultsStore s(d.file("r.h5"), ResultsStore::Mode::kReadOnly);
  const auto q = s.quantizers("q18");
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q[0].sqnr_db, 41.5);
  EXPECT_TRUE(std::isinf(q[1].sqnr_db));
  EXPECT_EQ(s.dataset(), "fashion-mnist");
}

TEST(Compare, SameFilePassesAChangedCellFails) {
  TempDir d;
  write_file(d.file("a.h5"));
  write_file(d.file("b.h5"));
  write_file(d.file("c.h5"), 91.0);
  {
    const ResultsStore a(d.file("a.h5"), ResultsStore::Mode::kReadOnly), b(d.file("b.h5"), ResultsStore::Mode::kReadOnly);
    const auto c = compare_results(a, b);
    EXPECT_EQ(c.cells.size(), 3u);
    EXPECT_TRUE(comparison_passes(c, {}));
  }
  const ResultsStore a(d.file("a.h5"), ResultsStore::Mode::kReadOnly), c(d.file("c.h5"), ResultsStore::Mode::kReadOnly);
  const auto cmp = compare_results(a, c);
  EXPECT_FALSE(comparison_passes(cmp, {}));
  const auto bad = failing_cells(cmp, {});
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0]->label, "resnet18 Academic MinMax/EMAMinMax W8A8");
  EXPECT_NEAR(*bad[0]->delta(), -0.5, 1e-12);
  EXPECT_TRUE(comparison_passes(cmp, {0.5, false}));   // |−0.50| is within 0.5
  EXPECT_FALSE(comparison_passes(cmp, {0.49, false}));
  std::ostringstream text;
  print_comparison(cmp, {}, text);
  EXPECT_NE(text.str().find("-0.50  <-- |delta| > 0"), std::string::npos) << text.str();
}

TEST(Compare, MissingCellsAndProvenanceDifferences) {
  TempDir d;
  write_file(d.file("a.h5"));
  write_file(d.file("b.h5"), 91.5, "bb", false);
  const ResultsStore a(d.file("a.h5"), ResultsStore::Mode::kReadOnly), b(d.file("b.h5"), ResultsStore::Mode::kReadOnly);
  const auto c = compare_results(a, b);
  // Other weights, same settings: cells still match (the id differs only by the inputs' hashes).
  EXPECT_EQ(c.cells.size(), 3u);
  EXPECT_FALSE(comparison_passes(c, {}));              // resnet50 is only in A
  EXPECT_TRUE(comparison_passes(c, {0.0, true}));      // --allow-missing
  bool weights_line = false;
  for (const auto& l : c.provenance) weights_line |= l.find("weights sha256 of resnet18: A aa | B bb") == 0;
  EXPECT_TRUE(weights_line) << (c.provenance.empty() ? "" : c.provenance[0]);
}

TEST(Plot, AccuracySvgHasAPanelPerModelAndALinePerSeries) {
  std::vector<TaskRow> rows = {row("f", "resnet18", 32, 92.36), row("a", "resnet18", 8, 92.1),
                               row("b", "resnet18", 4, 90.0), row("c", "resnet50", 8, 91.0)};
  const auto svg = accuracy_svg(build_table(rows, {}), "demo & co");
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find(">resnet18</text>"), std::string::npos);
  EXPECT_NE(svg.find(">resnet50</text>"), std::string::npos);
  EXPECT_NE(svg.find("demo &amp; co"), std::string::npos);  // escaped
  EXPECT_NE(svg.find(">W4A8</text>"), std::string::npos);
  EXPECT_NE(svg.find("FP32 92.36"), std::string::npos);
  EXPECT_EQ(svg.find("NaN"), std::string::npos);
  EXPECT_NE(svg.find("<polyline"), std::string::npos);  // resnet18's two MinMax points are joined
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
}

TEST(Plot, AnchorDeltaSvgCarriesTheWarning) {
  const auto anchors = Anchors::load(QSWEEP_SOURCE_DIR "/sweeps/anchors/mqbench_v0.0.5_academic.yaml");
  std::vector<TaskRow> rows = {row("f", "resnet18", 32, 92.36), row("a", "resnet18", 8, 70.0)};
  const auto svg = anchor_delta_svg(build_table(rows, {}, &anchors), "demo", "WARNING: different datasets");
  EXPECT_NE(svg.find("WARNING: different datasets"), std::string::npos);
  EXPECT_NE(svg.find(">+21.30</text>"), std::string::npos) << svg;  // 92.36 − 71.06
  EXPECT_NE(svg.find(">-0.93</text>"), std::string::npos);          // 70.00 − 70.93
}

TEST(Anchors, ADifferentDatasetIsRefusedOrLabelled) {
  const auto anchors = Anchors::load(QSWEEP_SOURCE_DIR "/sweeps/anchors/mqbench_v0.0.5_academic.yaml");
  EXPECT_EQ(anchors.dataset(), "imagenet");
  EXPECT_EQ(check_anchor_dataset(anchors, "imagenet", "r.h5", false), "");
  try {
    check_anchor_dataset(anchors, "fashion-mnist", "r.h5", false);
    FAIL() << "a cross-dataset comparison was accepted";
  } catch (const AnchorError& e) {
    EXPECT_NE(std::string(e.what()).find("r.h5 holds results on dataset 'fashion-mnist'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--cross-dataset"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("anchors of " QSWEEP_SOURCE_DIR "/sweeps/anchors/mqbench_v0.0.5_academic.yaml are"),
              std::string::npos) << e.what();
  }
  EXPECT_NE(check_anchor_dataset(anchors, "", "r.h5", true).find("an unrecorded dataset"), std::string::npos);
}

TEST(CellFilter, MatchesAlternativesAndNamesBadTerms) {
  const std::vector<std::string> keys = {"model", "wbit"};
  const auto f = CellFilter::parse("model=resnet18, wbit=4|8", keys);
  EXPECT_TRUE(f.matches({{"model", "resnet18"}, {"wbit", "8"}}));
  EXPECT_FALSE(f.matches({{"model", "resnet18"}, {"wbit", "2"}}));
  EXPECT_FALSE(f.matches({{"model", "resnet50"}, {"wbit", "4"}}));
  EXPECT_EQ(f.text(), "model=resnet18,wbit=4|8");
  EXPECT_TRUE(CellFilter::parse("", keys).empty());
  const auto message = [&](const std::string& text) {
    try {
      CellFilter::parse(text, keys);
    } catch (const CellFilterError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("wbits=4").find("did you mean 'wbit'?"), std::string::npos);
  EXPECT_NE(message("model").find("expected key=value"), std::string::npos);
  EXPECT_NE(message("wbit=4,wbit=8").find("given twice"), std::string::npos);
  EXPECT_NE(message("wbit=4||8").find("empty alternative"), std::string::npos);
}

}  // namespace
}  // namespace qsweep::results
