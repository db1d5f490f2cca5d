// AdaRound / BRECQ / QDrop end to end (SPEC §5) on a small ResNet-18 trained here on Fashion-MNIST:
// reconstruction must beat naive MSE PTQ at W2A4; QDrop vs BRECQ is printed, not asserted (the
// published gap is within run-to-run noise on a model this small); a fixed seed reproduces the
// result bit for bit on CPU.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include <chrono>
#include <cstdio>

#include "data/sources/idx_file.h"
#include "models/zoo.h"
#include "pipeline/calibrators.h"
#include "pipeline/task.h"
#include "pipeline/train.h"
#include "fashion_mnist.h"

namespace qsweep::pipeline {
namespace {

using testing::images;
using testing::labels;

struct Trained {
  graph::Graph g;
  std::unique_ptr<TensorTaskData> data;
  ActivationCache stats;  // EMAMSE (p = 2.4) statistics, computed once for every task here
};

// ResNet-18 at width 1/8 (8–64 channels), one epoch: small enough that three reconstructions fit
// the test budget, deep enough for 10 blocks and 21 layers.
Trained& trained() {
  static Trained t = [] {
    at::manual_seed(0);
    const auto o = models::ModelOptions::fashion_mnist(0.125);
    Trained t{models::build_model("resnet18", o), nullptr, {}};
    TrainConfig cfg;
    cfg.epochs = 1;
    cfg.lr = 0.05;
    const auto t0 = std::chrono::steady_clock::now();
    train(t.g, images("train-images-idx3-ubyte.gz", 5000), labels("train-labels-idx1-ubyte.gz", 5000), cfg);
    std::printf("[trained resnet18 w=0.125 in %.1f s]\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    // Two calibration batches of 64 (the benchmark has 16): EMAMSE with p = 2.4 costs ~3 s a batch here.
    const auto calib = images("train-images-idx3-ubyte.gz", 6000).narrow(0, 5000, 128);
    std::vector<at::Tensor> batches;
    for (int b = 0; b < 2; ++b) batches.push_back(calib.narrow(0, b * 64, 64));
    t.data = std::make_unique<TensorTaskData>(batches, images("t10k-images-idx3-ubyte.gz", 1000),
                                              labels("t10k-labels-idx1-ubyte.gz", 1000), 250, "fmnist-test-1000");
    return t;
  }();
  return t;
}

TaskSpec spec(const std::string& w_calib, int wbit, int abit, int64_t iterations) {
  TaskSpec s;
  s.calib.w_observer = w_calib;
  s.calib.a_observer = "ema_mse";
  s.calib.wbit = wbit;
  s.calib.abit = abit;
  s.model_key = "recon-test";
  s.reconstruction.iterations = iterations;
  return s;
}

TEST(Reconstruct, CalibratorNamesResolveToThePublishedConfigs) {
  EXPECT_EQ(reconstruction_calibrator_names(), (std::vector<std::string>{"adaround", "brecq", "qdrop"}));
  EXPECT_FALSE(reconstruction_of("mse"));
  const auto r = resolve_calibrators(spec("qdrop", 2, 4, 10));
  EXPECT_EQ(r.calib.w_observer, "mse");
  EXPECT_EQ(r.calib.w_p, 2.4);
  EXPECT_EQ(r.calib.a_p, 2.4);
  EXPECT_EQ(r.calib.a_fake_quant, quant::FakeQuantKind::kDividing);
  EXPECT_EQ(r.reconstruction.algorithm, quant::reconstruct::Algorithm::kQDrop);
  EXPECT_EQ(r.reconstruction.keep_prob(), 0.5);
  EXPECT_EQ(r.reconstruction.pattern(), quant::reconstruct::Pattern::kBlock);
  const auto a = resolve_calibrators(spec("adaround", 2, 4, 10));
  EXPECT_EQ(a.calib.a_fake_quant, quant::FakeQuantKind::kFixed);
  EXPECT_EQ(a.reconstruction.pattern(), quant::reconstruct::Pattern::kLayer);
  EXPECT_EQ(a.reconstruction.keep_prob(), 1.0);
  auto bad = spec("adaround", 2, 4, 10);
  bad.reconstruction.algorithm = quant::reconstruct::Algorithm::kBrecq;
  EXPECT_THROW(resolve_calibrators(bad), TaskError);
  EXPECT_EQ(quant::reconstruct::default_round_weight("mobilenetv2_1.0"), 0.1);
  EXPECT_EQ(quant::reconstruct::default_round_weight("resnet18"), 0.01);
}

TEST(Reconstruct, AdaRoundBeatsNaiveMseAtW2A4) {
  auto& t = trained();
  TaskSpec fp;
  fp.fp32 = true;
  const double fp32 = run_task(t.g, fp, *t.data).accuracy.top1_percent();
  auto naive_spec = spec("mse", 2, 4, 0);
  naive_spec.calib.w_p = naive_spec.calib.a_p = 2.4;  // the observers reconstruction starts from
  const double naive = run_task(t.g, naive_spec, *t.data, &t.stats).accuracy.top1_percent();
  double acc[3] = {0, 0, 0};
  const char* algos[3] = {"adaround", "brecq", "qdrop"};
  for (int i = 0; i < 3; ++i) {
    const auto r = run_task(t.g, spec(algos[i], 2, 4, 100), *t.data, &t.stats);
    acc[i] = r.accuracy.top1_percent();
    ASSERT_TRUE(r.seconds.count("reconstruct"));
    std::printf("[%s W2A4: top-1 %.2f%%, %zu units, %.1f s reconstructing, first unit rec %.4f -> %.4f]\n", algos[i],
                acc[i], r.reconstruction.units.size(), r.seconds.at("reconstruct"),
                r.reconstruction.units.front().first_rec, r.reconstruction.units.front().final_rec);
  }
  std::printf("[W2A4 top-1: FP32 %.2f, MSE naive %.2f, AdaRound %.2f, BRECQ %.2f, QDrop %.2f; QDrop - BRECQ %+.2f]\n",
              fp32, naive, acc[0], acc[1], acc[2], acc[2] - acc[1]);
  EXPECT_GT(fp32, 60.0);
  EXPECT_GT(acc[0], naive + 1.0);
  EXPECT_GT(acc[1], naive);
  EXPECT_GT(acc[2], naive);
}

// Issue 28: every AdaRound weight SQNR read +inf (it was measured against the rounded weight).
// Against the float weight, a learned 4-bit rounding is finite and close to the MSE rounding's.
TEST(Reconstruct, WeightSqnrIsMeasuredAgainstTheFloatWeight) {
  auto& t = trained();
  auto naive_spec = spec("mse", 4, 8, 0);
  naive_spec.calib.w_p = naive_spec.calib.a_p = 2.4;
  const auto naive = run_task(t.g, naive_spec, *t.data, &t.stats);
  const auto ada = run_task(t.g, spec("adaround", 4, 8, 5), *t.data, &t.stats);
  ASSERT_EQ(naive.quantizers.size(), ada.quantizers.size());
  int four_bit = 0;
  for (size_t i = 0; i < ada.quantizers.size(); ++i) {
    const auto& a = ada.quantizers[i];
    const auto& n = naive.quantizers[i];
    if (!a.is_weight) continue;
    ASSERT_EQ(a.name, n.name);
    EXPECT_TRUE(std::isfinite(a.sqnr_db)) << a.name;
    if (a.bits != 4) continue;
    ++four_bit;
    EXPECT_NEAR(a.sqnr_db, n.sqnr_db, 3.0) << a.name;
  }
  EXPECT_GT(four_bit, 10);
}

TEST(Reconstruct, SameSeedGivesIdenticalResults) {
  auto& t = trained();
  auto s = spec("qdrop", 4, 4, 5);  // drop masks and batch draws both come from the seed
  const auto a = run_task(t.g, s, *t.data, &t.stats);
  const auto b = run_task(t.g, s, *t.data, &t.stats);
  EXPECT_EQ(a.accuracy.top1, b.accuracy.top1);
  ASSERT_EQ(a.quantizers.size(), b.quantizers.size());
  for (size_t i = 0; i < a.quantizers.size(); ++i) EXPECT_EQ(a.quantizers[i].scale, b.quantizers[i].scale);
  for (size_t i = 0; i < a.reconstruction.units.size(); ++i) {
    EXPECT_EQ(a.reconstruction.units[i].final_rec, b.reconstruction.units[i].final_rec);
  }
  s.reconstruction.seed = 7;
  const auto c = run_task(t.g, s, *t.data, &t.stats);
  EXPECT_NE(a.reconstruction.units.back().final_rec, c.reconstruction.units.back().final_rec);
}

}  // namespace
}  // namespace qsweep::pipeline
