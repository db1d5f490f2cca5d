// The naive PTQ task on small models trained here on Fashion-MNIST: the calibration protocol
// (SPEC §4) and the accuracy relations every PTQ implementation must show.
#include <ATen/ATen.h>
#include <algorithm>
#include <cmath>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <cstdio>

#include "data/sources/idx_file.h"
#include "graph/executor.h"
#include "models/zoo.h"
#include "pipeline/task.h"
#include "pipeline/train.h"
#include "fashion_mnist.h"
#include "quant/quantized_model.h"

namespace qsweep::pipeline {
namespace {

using testing::images;
using testing::labels;

struct Trained {
  graph::Graph g;
  std::unique_ptr<TensorTaskData> data;
};

// A small model trained for a few seconds; cached per architecture across tests.
Trained& trained(const std::string& arch) {
  static std::map<std::string, Trained> cache;
  auto it = cache.find(arch);
  if (it != cache.end()) return it->second;
  at::manual_seed(0);
  const auto o = models::ModelOptions::fashion_mnist(0.25);
  Trained t{models::build_model(arch, o), nullptr};
  TrainConfig cfg;
  cfg.epochs = 2;
  cfg.lr = 0.05;
  train(t.g, images("train-images-idx3-ubyte.gz", 6000), labels("train-labels-idx1-ubyte.gz", 6000), cfg);
  const auto calib = images("train-images-idx3-ubyte.gz", 6000).narrow(0, 5000, 512);
  std::vector<at::Tensor> batches;
  for (int b = 0; b < 8; ++b) batches.push_back(calib.narrow(0, b * 64, 64));
  t.data = std::make_unique<TensorTaskData>(batches, images("t10k-images-idx3-ubyte.gz", 2000),
                                            labels("t10k-labels-idx1-ubyte.gz", 2000), 250, "fmnist-test-2000");
  return cache.emplace(arch, std::move(t)).first->second;
}

TaskSpec spec(const std::string& backend, const std::string& w, const std::string& a, int wbit, int abit) {
  TaskSpec s;
  s.backend = backend;
  s.calib.w_observer = w;
  s.calib.a_observer = a;
  s.calib.wbit = wbit;
  s.calib.abit = abit;
  s.model_key = "test";
  return s;
}

TEST(Task, EightBitStaysWithinHalfAPointOfFp32OnBothBackends) {
  auto& t = trained("resnet18");
  TaskSpec fp;
  fp.fp32 = true;
  const double fp32 = run_task(t.g, fp, *t.data).accuracy.top1_percent();
  EXPECT_GT(fp32, 75.0);
  for (const char* b : {"academic", "tensorrt"}) {
    const auto r = run_task(t.g, spec(b, "minmax", "ema_minmax", 8, 8), *t.data);
    EXPECT_EQ(r.accuracy.total, 2000);
    EXPECT_NEAR(r.accuracy.top1_percent(), fp32, 0.5) << b;
    EXPECT_GE(r.accuracy.top5, r.accuracy.top1);
  }
}

// MSE's weight ranges include MinMax's (its first candidate), so each 4-bit weight quantizer's
// error is at most MinMax's: SQNR no lower, to float rounding. (This test compared top-1 once;
// on the in-test models, trained for a fraction of an epoch, MSE's 4-bit top-1 came out 0.25
// point below MinMax's on LibTorch 2.11 — whose training kernels give other weights than 1.13's —
// so top-1 is printed, and the guarantee the search makes is what is checked.)
TEST(Task, MseWeightsQuantizeWithNoMoreErrorThanMinMaxAtFourBits) {
  for (const char* arch : {"resnet18", "mobilenetv2_1.0"}) {
    auto& t = trained(arch);
    const auto minmax = run_task(t.g, spec("academic", "minmax", "ema_minmax", 4, 8), *t.data);
    const auto mse = run_task(t.g, spec("academic", "mse", "ema_mse", 4, 8), *t.data);
    std::printf("[%s W4A8 top-1: MinMax/EMAMinMax %.2f, MSE/EMAMSE %.2f]\n", arch, minmax.accuracy.top1_percent(),
                mse.accuracy.top1_percent());
    ASSERT_EQ(minmax.quantizers.size(), mse.quantizers.size());
    int weights = 0, better = 0;
    for (size_t i = 0; i < mse.quantizers.size(); ++i) {
      const auto& a = minmax.quantizers[i];
      const auto& b = mse.quantizers[i];
      if (!a.is_weight) continue;
      ASSERT_EQ(a.name, b.name);
      ++weights;
      better += b.sqnr_db > a.sqnr_db + 0.01;
      EXPECT_GE(b.sqnr_db, a.sqnr_db - 0.01) << arch << " " << a.name;
    }
    EXPECT_GT(weights, 0);
    EXPECT_GT(better, weights / 2) << arch << ": MSE should clip most 4-bit weight ranges";
  }
}

TEST(Task, ActivationObserversSeeOnlyFp32Values) {
  auto& t = trained("resnet18");
  auto qm = quant::prepare(t.g, quant::academic_backend(), spec("academic", "minmax", "minmax", 4, 4).calib);
  qm.set_mode(quant::Mode::kCalibrateActivations);
  at::NoGradGuard ng;
  for (const auto& b : t.data->calibration_batches()) graph::run(qm.graph, b, qm.exec_options());
  // The same ranges straight from the float graph.
  std::map<std::string, std::pair<float, float>> fp;
  graph::ExecOptions o;
  o.on_output = [&](const graph::Node& n, const at::Tensor& x) {
    auto& r = fp.try_emplace(quant::activation_quantizer_name(n.name), 1e30f, -1e30f).first->second;
    r.first = std::min(r.first, x.min().item<float>());
    r.second = std::max(r.second, x.max().item<float>());
  };
  for (const auto& b : t.data->calibration_batches()) {
    o.on_output(t.g.node(0), b);  // the executor reports computed nodes; the image is the input
    graph::run(t.g, b, o);
  }
  for (const auto& a : qm.activations) {
    EXPECT_EQ(a.observer().min_val().item<float>(), fp.at(a.name()).first) << a.name();
    EXPECT_EQ(a.observer().max_val().item<float>(), fp.at(a.name()).second) << a.name();
    EXPECT_EQ(a.observer().batches_seen(), 8);
  }
  qm.calibrate_weights();
  for (const auto& w : qm.weights) EXPECT_EQ(w.quantizer.observer().batches_seen(), 1) << w.node;
}

TEST(Task, EmaCalibrationDependsOnBatchOrder) {
  auto& t = trained("resnet18");
  auto reversed = t.data->calibration_batches();
  std::reverse(reversed.begin(), reversed.end());
  TensorTaskData other(reversed, images("t10k-images-idx3-ubyte.gz", 500), labels("t10k-labels-idx1-ubyte.gz", 500),
                       250, "reversed");
  const auto a = run_task(t.g, spec("academic", "minmax", "ema_minmax", 8, 8), *t.data);
  const auto b = run_task(t.g, spec("academic", "minmax", "ema_minmax", 8, 8), other);
  EXPECT_NE(a.quantizers[1].max_val, b.quantizers[1].max_val);
}

TEST(Task, ActivationStatisticsAreSharedAcrossWeightCalibrators) {
  auto& t = trained("resnet18");
  ActivationCache cache;
  const auto first = run_task(t.g, spec("academic", "minmax", "ema_mse", 4, 8), *t.data, &cache);
  const auto second = run_task(t.g, spec("academic", "mse", "ema_mse", 4, 8), *t.data, &cache);
  EXPECT_FALSE(first.activation_stats_reused);
  EXPECT_TRUE(second.activation_stats_reused);
  EXPECT_EQ(cache.size(), 1u);
  for (size_t i = 0; i < first.quantizers.size(); ++i) {
    if (first.quantizers[i].is_weight) continue;
    EXPECT_EQ(first.quantizers[i].scale, second.quantizers[i].scale) << first.quantizers[i].name;
  }
  const auto fresh = run_task(t.g, spec("academic", "mse", "ema_mse", 4, 8), *t.data);
  EXPECT_EQ(fresh.accuracy.top1, second.accuracy.top1);
}

TEST(Task, ResultRecordsEveryQuantizer) {
  auto& t = trained("resnet18");
  const auto r = run_task(t.g, spec("academic", "minmax", "ema_minmax", 4, 8), *t.data);
  int weights = 0;
  for (const auto& q : r.quantizers) {
    weights += q.is_weight;
    EXPECT_EQ(q.scale.size(), q.zero_point.size());
    if (q.is_weight) {
      EXPECT_GT(q.scale.size(), 1u) << q.name;  // per-channel
    }
  }
  EXPECT_EQ(weights, 21);
  for (const char* phase : {"prepare", "calibrate_activations", "calibrate_weights", "evaluate"}) {
    EXPECT_TRUE(r.seconds.count(phase)) << phase;
  }
}

// Each quantizer's SQNR is measured after calibration on its own input; a quantizer's error at
// b bits costs about 6 dB per bit, so 4-bit weights lose ~24 dB against 8-bit ones.
TEST(Task, EveryQuantizerHasItsSqnr) {
  auto& t = trained("resnet18");
  const auto w8 = run_task(t.g, spec("academic", "minmax", "ema_minmax", 8, 8), *t.data);
  const auto w4 = run_task(t.g, spec("academic", "minmax", "ema_minmax", 4, 8), *t.data);
  const auto median_weight_sqnr = [](const TaskResult& r, int bits) {
    std::vector<double> v;
    for (const auto& q : r.quantizers) {
      EXPECT_FALSE(std::isnan(q.sqnr_db)) << q.name;
      if (q.is_weight && q.bits == bits) v.push_back(q.sqnr_db);
    }
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  const double s8 = median_weight_sqnr(w8, 8), s4 = median_weight_sqnr(w4, 4);
  EXPECT_GT(s8, 35.0);
  EXPECT_GT(s8 - s4, 18.0) << s8 << " vs " << s4;
  EXPECT_LT(s8 - s4, 30.0) << s8 << " vs " << s4;
  for (const auto& q : w8.quantizers) {
    if (!q.is_weight) {
      EXPECT_GT(q.sqnr_db, 20.0) << q.name;  // 8-bit activations
    }
  }
}

TEST(Task, BadNamesFailBeforeAnyWork) {
  auto& t = trained("resnet18");
  EXPECT_THROW(run_task(t.g, spec("tensorrt2", "minmax", "ema_minmax", 8, 8), *t.data), quant::QuantError);
  EXPECT_THROW(run_task(t.g, spec("academic", "minmaxx", "ema_minmax", 8, 8), *t.data), quant::QuantError);
  EXPECT_THROW(run_task(t.g, spec("academic", "minmax", "ema_minmax", 9, 8), *t.data), quant::QuantError);
}

}  // namespace
}  // namespace qsweep::pipeline
