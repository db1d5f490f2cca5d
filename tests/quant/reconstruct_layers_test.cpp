// Reconstruction with per-layer rules (quant/layer_rule.h): layers kept float have no weight
// quantizer, so AdaRound has nothing to round there and BRECQ/QDrop blocks of only float layers
// nothing to learn; those units are left as they are and the others reconstruct as usual.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include "graph/executor.h"
#include "models/zoo.h"
#include "quant/quantized_model.h"
#include "quant/reconstruct/reconstruct.h"

namespace qsweep::quant::reconstruct {
namespace {

// A demo-sized ResNet-18 (random weights) with layer4 kept float, calibrated on random images.
QuantizedModel calibrated_with_float_layer4(Algorithm a, std::vector<at::Tensor>& calibration) {
  at::manual_seed(5);
  const auto g = models::build_model("resnet18", models::ModelOptions::fashion_mnist(0.125));
  CalibrationConfig c;
  c.w_observer = "mse";
  c.wbit = 2, c.abit = 4;
  if (a != Algorithm::kAdaRound) c.a_fake_quant = FakeQuantKind::kDividing;
  LayerRule keep;
  keep.pattern = "layer4.*";
  keep.keep_float = true;
  c.layers = {keep};
  QuantizedModel qm = prepare(g, academic_backend(), c);
  for (int i = 0; i < 2; ++i) calibration.push_back(at::randn({8, 1, 28, 28}));
  {
    at::NoGradGuard ng;
    qm.set_mode(Mode::kCalibrateActivations);
    for (const auto& b : calibration) graph::run(qm.graph, b, qm.exec_options());
  }
  qm.calibrate_weights();
  return qm;
}

TEST(ReconstructWithLayerRules, FloatLayersAreLeftAndTheRestReconstructs) {
  for (Algorithm a : {Algorithm::kAdaRound, Algorithm::kBrecq, Algorithm::kQDrop}) {
    std::vector<at::Tensor> calibration;
    QuantizedModel qm = calibrated_with_float_layer4(a, calibration);
    const auto float_before = qm.graph.params.at("layer4.0.conv1.weight").clone();
    const auto quantized_before = qm.graph.params.at("layer1.0.conv1.weight").clone();
    ReconstructionConfig rc;
    rc.algorithm = a;
    rc.iterations = 4;
    ReconstructionReport report;
    ASSERT_NO_THROW(report = reconstruct(qm, calibration, rc)) << algorithm_name(a);
    EXPECT_TRUE(at::equal(qm.graph.params.at("layer4.0.conv1.weight"), float_before)) << algorithm_name(a);
    EXPECT_FALSE(at::equal(qm.graph.params.at("layer1.0.conv1.weight"), quantized_before)) << algorithm_name(a);
    // The float units report no caching and no steps.
    bool skipped = false;
    for (const auto& u : report.units) skipped |= u.nodes.front().rfind("layer4.", 0) == 0 && u.cached_bytes == 0;
    EXPECT_TRUE(skipped) << algorithm_name(a);
  }
}

}  // namespace
}  // namespace qsweep::quant::reconstruct
