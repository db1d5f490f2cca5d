// The reconstruction loop on a tiny residual graph with random data: what each algorithm trains
// and writes back (SPEC §5.3–5.4), without the cost of a trained model (tests/pipeline has that).
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include "graph/executor.h"
#include "quant/fake_quant.h"
#include "quant/quantized_model.h"
#include "quant/reconstruct/reconstruct.h"

namespace qsweep::quant::reconstruct {
namespace {

graph::Graph tiny() {
  at::manual_seed(1);
  graph::Builder b("tiny");
  int x = b.input("x");
  x = b.relu("relu", b.batch_norm("bn1", b.conv2d("conv1", x, 1, 8, 3, 1, 1), 8));
  int y = b.relu("b.relu1", b.batch_norm("b.bn1", b.conv2d("b.conv1", x, 8, 8, 3, 1, 1), 8));
  y = b.batch_norm("b.bn2", b.conv2d("b.conv2", y, 8, 8, 3, 1, 1), 8);
  y = b.relu("b.relu2", b.add("b.add", y, x));
  b.output(b.linear("fc", b.flatten("reshape", b.adaptive_avg_pool2d("avgpool", y)), 8, 10));
  return b.finish();
}

struct Run {
  QuantizedModel qm;
  ReconstructionReport report;
  std::vector<at::Tensor> calibration;
};

Run run(Algorithm a, int64_t batch_size = 0) {
  CalibrationConfig c;
  c.w_observer = "mse";
  c.a_observer = "minmax";
  c.wbit = 2;
  c.abit = 4;
  ReconstructionConfig rc;
  rc.algorithm = a;
  rc.iterations = 8;
  rc.batch_size = batch_size;
  if (rc.learns_activation_scales()) c.a_fake_quant = FakeQuantKind::kDividing;
  Run r{prepare(tiny(), academic_backend(), c), {}, {}};
  at::manual_seed(2);
  for (int i = 0; i < 3; ++i) r.calibration.push_back(at::randn({16, 1, 8, 8}));
  {
    at::NoGradGuard ng;
    r.qm.set_mode(Mode::kCalibrateActivations);
    for (const auto& b : r.calibration) graph::run(r.qm.graph, b, r.qm.exec_options());
  }
  r.qm.calibrate_weights();
  r.report = reconstruct(r.qm, r.calibration, rc);
  return r;
}

std::vector<float> scales(const QuantizedModel& qm) {
  std::vector<float> s;
  for (const auto& a : qm.activations) s.push_back(a.qparams().scale.item<float>());
  return s;
}

TEST(Reconstruct, WeightsEndOnTheirGridAndTheModelQuantizes) {
  for (Algorithm a : {Algorithm::kAdaRound, Algorithm::kBrecq, Algorithm::kQDrop}) {
    auto r = run(a);
    EXPECT_EQ(r.qm.mode(), Mode::kQuantize);
    EXPECT_EQ(r.report.units.size(), a == Algorithm::kAdaRound ? 4u : 3u) << algorithm_name(a);
    for (const auto& w : r.qm.weights) {
      const auto& stored = r.qm.graph.param(r.qm.graph.node(r.qm.graph.find(w.node)), "weight");
      EXPECT_TRUE(at::equal(w.quantizer.scheme().per_channel
                                ? fake_quantize(stored, w.quantizer.qparams(), w.quantizer.scheme().range(), 0)
                                : stored,
                            stored))
          << w.node;
    }
    at::NoGradGuard ng;
    EXPECT_TRUE(graph::run(r.qm.graph, r.calibration[0], r.qm.exec_options()).isfinite().all().item<bool>());
  }
}

TEST(Reconstruct, OnlyBrecqAndQDropLearnActivationScales) {
  const auto ada = run(Algorithm::kAdaRound);
  const auto brecq = run(Algorithm::kBrecq);
  // Same calibration, so AdaRound's scales are the observers' own; BRECQ moved some.
  std::vector<float> observed;
  for (const auto& a : ada.qm.activations) observed.push_back(a.observer().qparams().scale.item<float>());
  EXPECT_EQ(scales(ada.qm), observed);
  EXPECT_NE(scales(brecq.qm), observed);
}

TEST(Reconstruct, BatchSizeRecutsTheCache) {
  const auto whole = run(Algorithm::kBrecq, 0);
  const auto cut = run(Algorithm::kBrecq, 8);
  EXPECT_EQ(whole.report.units[1].cached_bytes, cut.report.units[1].cached_bytes);  // same images
  EXPECT_NE(whole.report.units[1].final_rec, cut.report.units[1].final_rec);
}

TEST(Reconstruct, RejectsBadSettings) {
  ReconstructionConfig rc;
  rc.algorithm = Algorithm::kQDrop;
  rc.prob = 1.5;
  EXPECT_THROW(rc.validate(), QuantError);
  rc.prob.reset();
  rc.iterations = 0;
  EXPECT_THROW(rc.validate(), QuantError);
  EXPECT_THROW(algorithm_from_name("adaroud"), QuantError);
  // BRECQ on fixed (multiplying) activation quantizers would evaluate with another rounding.
  CalibrationConfig c;
  c.a_observer = "minmax";
  auto qm = prepare(tiny(), academic_backend(), c);
  rc.iterations = 1;
  rc.algorithm = Algorithm::kBrecq;
  EXPECT_THROW(reconstruct(qm, {at::randn({4, 1, 8, 8})}, rc), QuantError);
}

}  // namespace
}  // namespace qsweep::quant::reconstruct
