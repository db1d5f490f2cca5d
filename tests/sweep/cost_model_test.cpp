#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "sweep/cost_model.h"
#include "sweep/plan.h"
#include "sweep/sweep_spec.h"

namespace qsweep::sweep {
namespace {

ModelEntry entry(const std::string& arch, double width = 1.0, bool small = false, int64_t in_channels = 3,
                 int64_t classes = 1000) {
  ModelEntry m;
  m.key = arch, m.arch = arch;
  m.options.width = width, m.options.small_input = small, m.options.in_channels = in_channels;
  m.options.num_classes = classes;
  return m;
}

// The work is measured on the graph: resnet18 at 224² is torchvision's 1.82 GMACs and 11.69 M
// weights, 21 conv/linear layers (AdaRound's units).
TEST(ModelWork, MeasuredOnTheGraph) {
  const auto w = model_work(entry("resnet18"), 224);
  EXPECT_NEAR(w.gmacs, 1.814, 0.01);
  EXPECT_NEAR(w.mparams, 11.69, 0.01);
  EXPECT_EQ(w.layers, 21);
  EXPECT_GT(w.blocks, 1);
  EXPECT_LT(w.blocks, w.layers);
  // Work scales with the image: a quarter of the pixels, about a quarter of the MACs.
  EXPECT_NEAR(model_work(entry("resnet18"), 112).gmacs / w.gmacs, 0.25, 0.03);  // 7x7 maps become 4x4
}

TEST(ModelWork, ImageSizeFromTheShardElseBySmallInput) {
  EXPECT_EQ(work_image_size(entry("resnet18"), {}), 224);
  EXPECT_EQ(work_image_size(entry("resnet18", 0.125, true, 1, 10), {}), 32);
  EXPECT_EQ(work_image_size(entry("resnet18"), {10000, 64}), 64);
}

SweepSpec demo_like() {
  return parse_sweep(R"(sweep: t
data: {eval: e.h5, calibration: c.h5, calibration_batches: 4, batch_size: 32}
models:
  resnet18: {arch: resnet18, weights: r18.pth, options: {num_classes: 10, in_channels: 1, width: 0.125, small_input: true}}
  mbv2: {arch: mobilenetv2_1.0, weights: m.pth, options: {num_classes: 10, in_channels: 1, width: 0.25, small_input: true}}
  regnet: {arch: regnetx600m, weights: g.pth, options: {num_classes: 10, in_channels: 1, width: 0.25, small_input: true}}
grid:
  - product:
      model: [resnet18, mbv2, regnet]
      backend: academic
      zip:
        - {w_calib: none, a_calib: none, wbit: 32, abit: 32}
        - {w_calib: minmax, a_calib: ema_minmax, wbit: 8, abit: 8}
        - {w_calib: mse, a_calib: ema_mse, wbit: 4, abit: 8}
  - include:
      - {model: [resnet18, mbv2, regnet], backend: academic, w_calib: adaround, a_calib: ema_mse, wbit: 4, abit: 8,
         iterations: 100}
      - {model: [resnet18, mbv2, regnet], backend: academic, w_calib: adaround, a_calib: ema_mse, wbit: 3, abit: 8,
         iterations: 400}
)",
                     "t.yaml");
}

const Cell& find_cell(const SweepSpec& s, const std::string& model, const std::string& w_calib, int wbit) {
  for (const auto& c : s.cells) {
    if (c.model == model && c.w_calib == w_calib && c.wbit == wbit) return c;
  }
  throw std::runtime_error("no such cell");
}

CostFit known_fit() {
  CostFit f;
  f.reference = "a test", f.source = "known";
  f.prepare = 0.02;
  f.act_forward = {{"ema_minmax", 1.5e-3}, {"ema_mse", 6e-3}};
  f.act_observe = {{"ema_minmax", 1e-4}, {"ema_mse", 2e-2}};
  f.weights = {{"minmax", 0.01}, {"mse", 0.4}};
  f.step = {{"adaround", 4e-3}};
  f.image = {{"adaround", 3.0}};
  f.eval_fp32 = 1e-3, f.eval_quant = 2.5e-3;
  f.eval_fp32_elems = 2e-4, f.eval_quant_elems = 3e-4;
  f.eval_fp32_nodes = 1e-5, f.eval_quant_nodes = 2e-5;
  f.act_nodes = {{"ema_mse", 1e-4}};
  return f;
}

std::vector<CostSample> samples_of(const SweepSpec& s, const CostFit& truth) {
  std::vector<CostSample> out;
  const DataFacts data{10000, 32};
  for (const auto& c : s.cells) {
    CostSample x;
    x.work = task_work(s, c, model_work(s.model(c.model), 32), data);
    x.measured = predict(truth, x.work);
    x.task_class = c.w_calib + "/" + c.a_calib;
    out.push_back(x);
  }
  return out;
}

// Seconds that follow the model exactly are fitted back exactly, both reconstruction terms included
// (the three models' work terms are independent, so every term is separable).
TEST(CostFit, RecoversTheCoefficientsThatMadeTheSeconds) {
  const auto s = demo_like();
  const auto truth = known_fit();
  const auto fit = fit_costs(samples_of(s, truth), "ref", "src");
  EXPECT_NEAR(fit.prepare, truth.prepare, 1e-12);
  EXPECT_NEAR(fit.act_forward.at("ema_mse"), 6e-3, 1e-9);
  EXPECT_NEAR(fit.act_observe.at("ema_mse"), 2e-2, 1e-9);
  // AdaRound's observers are resolved, with their p: priced apart from the naive MSE rows'.
  EXPECT_EQ(fit.act_forward.count("ema_mse p=2.4"), 1u);
  EXPECT_NEAR(fit.weights.at("mse"), truth.weights.at("mse"), 1e-12);
  EXPECT_NEAR(fit.weights.at("mse p=2.4"), truth.weights.at("mse"), 1e-12);
  EXPECT_NEAR(fit.step.at("adaround"), 4e-3, 1e-9);
  EXPECT_NEAR(fit.image.at("adaround"), 3.0, 1e-6);
  EXPECT_NEAR(fit.eval_fp32, truth.eval_fp32, 1e-9);
  EXPECT_NEAR(fit.eval_quant_elems, truth.eval_quant_elems, 1e-9);
  for (const auto& e : fit_errors(fit, samples_of(s, truth))) EXPECT_LT(e.max_abs_error, 1e-6) << e.task_class;
}

// A task whose activation statistics came from the rank's cache (~0 s) does not pull the
// activation coefficient down, and its error is judged without them.
TEST(CostFit, CachedActivationStatisticsPriceNothing) {
  const auto s = demo_like();
  auto samples = samples_of(s, known_fit());
  for (auto& x : samples) {
    if (x.work.a_observer == "ema_mse p=2.4" && x.work.iterations == 400) {
      x.activations_measured = false;
      x.measured.calibrate_activations = 0.0004;
    }
  }
  const auto fit = fit_costs(samples, "ref", "src");
  EXPECT_NEAR(fit.act_forward.at("ema_mse p=2.4"), 6e-3, 1e-9);
  EXPECT_NEAR(fit.act_observe.at("ema_mse p=2.4"), 2e-2, 1e-9);
  for (const auto& e : fit_errors(fit, samples)) EXPECT_LT(e.max_abs_error, 1e-6) << e.task_class;
}

// AdaRound on a small model costs its steps, not its FLOPs: with the per-step term the prediction
// grows with iterations and units, and is several naive cells (the old model said ~1.3x).
TEST(CostModel, ReconstructionCostsItsSteps) {
  const auto s = demo_like();
  const auto fit = known_fit();
  const auto& m = s.model("resnet18");
  const auto work = model_work(m, 32);
  const DataFacts data{10000, 32};
  const auto naive = predict(fit, task_work(s, find_cell(s, "resnet18", "minmax", 8), work, data)).total();
  const auto ada100 = predict(fit, task_work(s, find_cell(s, "resnet18", "adaround", 4), work, data));
  const auto ada400 = predict(fit, task_work(s, find_cell(s, "resnet18", "adaround", 3), work, data));
  EXPECT_NEAR(ada400.reconstruct / ada100.reconstruct, 4.0, 1e-9);
  const double forward = 2.5e-3 * work.gmacs + 3e-4 * work.melems;  // one fake-quantized evaluation image
  EXPECT_NEAR(ada100.reconstruct, 100 * (4e-3 * work.layers + 3.0 * 32 * forward), 1e-9);
  EXPECT_GT(ada100.total(), 2 * naive);
}

// plan without data and with the shard's facts agree once they know the same image count: the cost
// no longer jumps between `plan` and `plan --resolve` (issue 28: 2.05 vs 0.73 units).
TEST(CostModel, SecondsDependOnTheDataFactsOnly) {
  const auto s = demo_like();
  PlanInputs a, b;
  a.data = b.data = {10000, 32};
  b.weights_sha256["resnet18"] = "ab";  // what --resolve adds besides the data facts
  b.data_fingerprint = "fp";
  const auto ta = make_plan(s, a), tb = make_plan(s, b);
  ASSERT_EQ(ta.size(), tb.size());
  for (size_t i = 0; i < ta.size(); ++i) EXPECT_DOUBLE_EQ(ta[i].cost, tb[i].cost);
  // Unknown data: ImageNet's 50 000 images assumed, so evaluation costs 5x.
  const auto& fp32 = find_cell(s, "resnet18", "none", 32);
  const auto fp32_unknown = estimated_cost(s, fp32, {}, known_fit());
  const auto fp32_known = estimated_cost(s, fp32, {10000, 32}, known_fit());
  EXPECT_NEAR(fp32_unknown / fp32_known, 5.0, 1e-9);
}

TEST(CostFit, JsonRoundTripAndUnseenNamesFallBack) {
  const auto f = known_fit();
  const auto g = cost_fit_from_json(cost_fit_json(f), "test");
  EXPECT_EQ(cost_fit_json(g), cost_fit_json(f));
  TaskWork w;
  w.a_observer = "ema_quantile", w.w_observer = "minmax", w.calib_images = 100, w.melems = 1, w.eval_images = 0;
  EXPECT_DOUBLE_EQ(predict(f, w).calibrate_activations, 1.5e-3 * 100);  // ema_minmax's coefficient
  EXPECT_THROW(cost_fit_from_json("{\"reference\": 1}", "bad.json"), SweepError);
}

// The built-in fit is the committed file (CMake compiles it in).
TEST(CostFit, BuiltInIsTheCommittedDemoFit) {
  std::ifstream in(QSWEEP_SOURCE_DIR "/sweeps/costs/demo_2core.json");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(cost_fit_json(default_cost_fit()), cost_fit_json(cost_fit_from_json(text.str(), "committed")));
  EXPECT_GT(default_cost_fit().eval_quant, 0);
  EXPECT_GT(default_cost_fit().step.at("adaround"), 0);
}

}  // namespace
}  // namespace qsweep::sweep
