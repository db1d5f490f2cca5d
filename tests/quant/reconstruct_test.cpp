// The reconstruction loop on a tiny residual graph with random data: what each algorithm trains
// and writes back (SPEC §5.3–5.4), without the cost of a trained model (tests/pipeline has that).
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/CPUGeneratorImpl.h>
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

ReconstructionConfig config(Algorithm a, int64_t batch_size = 0) {
  ReconstructionConfig rc;
  rc.algorithm = a;
  rc.iterations = 8;
  rc.batch_size = batch_size;
  return rc;
}

// Prepared and calibrated, not yet reconstructed.
Run calibrated(const ReconstructionConfig& rc) {
  CalibrationConfig c;
  c.w_observer = "mse";
  c.a_observer = "minmax";
  c.wbit = 2;
  c.abit = 4;
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
  return r;
}

Run run(Algorithm a, int64_t batch_size = 0) {
  const auto rc = config(a, batch_size);
  auto r = calibrated(rc);
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

namespace qsweep::quant::reconstruct {
namespace {

// The values a ForwardCache hands out are a plain run's, and asking node after node down the
// graph runs each node once.
TEST(ForwardCache, RunsEachNodeOnceAndMatchesAPlainRun) {
  const auto g = tiny();
  at::manual_seed(3);
  const std::vector<at::Tensor> batches = {at::randn({4, 1, 8, 8}), at::randn({4, 1, 8, 8})};
  ForwardCache cache(g, batches, at::kCPU);
  int64_t computed = 0;
  for (const auto& n : g.nodes) {
    if (n.op == graph::Op::kInput) continue;
    const auto v = cache.values({n.id}, {});
    ++computed;
    for (size_t b = 0; b < batches.size(); ++b) {
      at::NoGradGuard ng;
      std::vector<int> all;
      for (const auto& m : g.nodes) {
        if (m.op != graph::Op::kInput && m.id <= n.id) all.push_back(m.id);
      }
      const auto plain = graph::run_nodes(g, all, {{g.nodes.front().id, batches[b]}}, {n.id}).at(0);
      EXPECT_TRUE(at::equal(v[0][b], plain)) << n.name;
    }
  }
  EXPECT_EQ(cache.nodes_run(), computed);
  EXPECT_EQ(cache.kept_bytes(), 0);  // every consumer has run: nothing left to hold
}

TEST(ForwardCache, InvalidateRecomputesWhatARewrittenWeightFeeds) {
  auto g = tiny();
  const std::vector<at::Tensor> batches = {at::randn({4, 1, 8, 8})};
  ForwardCache cache(g, batches, at::kCPU);
  const int conv = g.find("b.conv1"), relu = g.find("b.relu1"), add = g.find("b.add");
  const auto before = cache.values({relu}, {}).at(0).at(0);
  {
    at::NoGradGuard ng;
    g.param(g.node(conv), "weight").mul_(-1);
  }
  EXPECT_TRUE(at::equal(cache.values({relu}, {}).at(0).at(0), before));  // kept: stale until told
  cache.invalidate({conv});
  const auto after = cache.values({relu}, {}).at(0).at(0);
  EXPECT_FALSE(at::equal(after, before));
  // Upstream values survive: the add's other input (relu) was not rerun.
  const int64_t runs = cache.nodes_run();
  cache.values({add}, {});
  EXPECT_EQ(cache.nodes_run(), runs + 3);  // b.conv2, b.bn2, b.add
}

// The incremental cache changes only the cost: the rounding and scales equal those of caching each
// unit from scratch (fresh caches per unit, the old quadratic way).
TEST(Reconstruct, IncrementalCachingEqualsCachingEachUnitFromScratch) {
  for (Algorithm a : {Algorithm::kAdaRound, Algorithm::kQDrop}) {
    const auto rc = config(a);
    auto incremental = calibrated(rc);
    reconstruct(incremental.qm, incremental.calibration, rc);
    auto scratch = calibrated(rc);
    scratch.qm.set_mode(Mode::kQuantize);
    const auto fp32 = scratch.qm.graph.clone();
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(rc.seed);
    for (const auto& unit : partition(scratch.qm.graph, rc.pattern())) {
      ForwardCache fp(fp32, scratch.calibration, at::kCPU), q(scratch.qm.graph, scratch.calibration, at::kCPU);
      reconstruct_unit(scratch.qm, fp, q, unit, rc, gen);
    }
    for (const auto& w : incremental.qm.weights) {
      const auto node = incremental.qm.graph.node(incremental.qm.graph.find(w.node));
      EXPECT_TRUE(at::equal(incremental.qm.graph.param(node, "weight"), scratch.qm.graph.param(node, "weight")))
          << algorithm_name(a) << " " << w.node;
    }
    EXPECT_EQ(scales(incremental.qm), scales(scratch.qm)) << algorithm_name(a);
  }
}

}  // namespace
}  // namespace qsweep::quant::reconstruct
