// CUDA builds only (skipped elsewhere): the quantization core and the executor on a GPU give the
// CPU's results — fake-quant bit-identical to ATen's CUDA kernels and to the CPU path.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/Context.h>
#include <gtest/gtest.h>

#include "graph/executor.h"
#include "models/zoo.h"
#include "quant/fake_quant.h"
#include "quant/observer.h"
#include "quant/quantized_model.h"
#include "quant/reconstruct/reconstruct.h"

namespace qsweep {
namespace {

class Cuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA in this LibTorch build or no GPU";
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setAllowTF32CuDNN(false);
  }
};

TEST_F(Cuda, FakeQuantizeMatchesAtenAndCpuBitForBit) {
  at::manual_seed(0);
  const auto x = at::randn({64, 64, 56, 56}) * 2;
  const auto xg = x.to(at::kCUDA);
  for (int bits : {2, 4, 8}) {
    const quant::QScheme s{bits, false};
    const auto qp = quant::compute_qparams(at::scalar_tensor(-3.0f), at::scalar_tensor(4.0f), s);
    const auto gpu = quant::fake_quantize(xg, qp, s.range(), -1);
    EXPECT_TRUE(at::equal(gpu, quant::fake_quantize_aten(xg, qp, s.range(), -1))) << bits;
    EXPECT_TRUE(at::equal(gpu.cpu(), quant::fake_quantize(x, qp, s.range(), -1))) << bits;
  }
  const auto w = at::randn({32, 16, 3, 3});
  const quant::QScheme pc{4, false, true, 0};
  auto [lo, hi] = at::aminmax(w.flatten(1), 1);
  const auto qp = quant::compute_qparams(lo, hi, pc);
  EXPECT_TRUE(at::equal(quant::fake_quantize(w.cuda(), qp, pc.range(), 0).cpu(), quant::fake_quantize(w, qp, pc.range(), 0)));
}

TEST_F(Cuda, ObserversGiveTheCpuRanges) {
  at::manual_seed(1);
  const auto x = at::relu(at::randn({16, 32, 28, 28}));
  for (const char* name : {"minmax", "ema_minmax", "ema_quantile", "mse", "ema_mse"}) {
    quant::ObserverOptions o;
    o.scheme = {4, false};
    auto cpu = quant::make_observer(name, o), gpu = quant::make_observer(name, o);
    cpu->observe(x);
    gpu->observe(x.cuda());
    EXPECT_EQ(cpu->max_val().item<float>(), gpu->max_val().cpu().item<float>()) << name;
  }
}

TEST_F(Cuda, QuantizedResNet18OnGpuMatchesCpu) {
  at::manual_seed(2);
  models::ModelOptions mo;
  mo.width = 0.5;
  auto g = models::build_model("resnet18", mo);
  quant::CalibrationConfig c;
  c.wbit = 4;
  auto cpu = quant::prepare(g, quant::academic_backend(), c);
  for (const auto& name : g.params.names()) g.params.at(name) = g.params.at(name).cuda();
  auto gpu = quant::prepare(g, quant::academic_backend(), c);
  const auto x = at::randn({8, 3, 64, 64});
  at::NoGradGuard ng;
  for (auto* qm : {&cpu, &gpu}) {
    qm->set_mode(quant::Mode::kCalibrateActivations);
    graph::run(qm->graph, qm == &gpu ? x.cuda() : x, qm->exec_options());
    qm->calibrate_weights();
    qm->set_mode(quant::Mode::kQuantize);
  }
  // The float networks agree to float rounding; after 4-bit fake-quant a value that lands within
  // float noise of a rounding boundary may take the neighbouring code on one device (cuDNN and
  // oneDNN sum in different orders), so the quantized logits agree less tightly (measured on an
  // H100: 7.5e-3 relative) while the predictions agree.
  const auto fc = graph::run(g, x.cuda()).cpu();
  auto cpu_graph = g.clone();
  cpu_graph.to(c10::Device(c10::kCPU));
  EXPECT_LE(((fc - graph::run(cpu_graph, x)).abs().max() / fc.abs().max()).item<float>(), 1e-4);
  const auto yc = graph::run(cpu.graph, x, cpu.exec_options());
  const auto yg = graph::run(gpu.graph, x.cuda(), gpu.exec_options()).cpu();
  EXPECT_LE(((yc - yg).abs().max() / yc.abs().max()).item<float>(), 2e-2);
  EXPECT_GE(yc.argmax(1).eq(yg.argmax(1)).sum().item<int64_t>(), 7);
}

// AdaRound with the model and the cache on the GPU makes the CPU's rounding decisions (up to values
// within float noise of a boundary, which cuDNN and oneDNN sum in different orders).
TEST_F(Cuda, AdaRoundOnGpuRoundsLikeTheCpu) {
  at::manual_seed(3);
  const auto mo = models::ModelOptions::fashion_mnist(0.25);
  auto g = models::build_model("resnet18", mo);
  quant::CalibrationConfig c;
  c.w_observer = "mse";
  c.a_observer = "minmax";
  c.wbit = 3;
  c.abit = 8;
  quant::reconstruct::ReconstructionConfig rc;
  rc.algorithm = quant::reconstruct::Algorithm::kAdaRound;
  rc.iterations = 20;
  const std::vector<at::Tensor> calib = {at::randn({16, 1, 32, 32}), at::randn({16, 1, 32, 32})};
  auto run = [&](const c10::Device& device) {
    auto model = g.clone();
    model.to(device);
    auto qm = quant::prepare(model, quant::academic_backend(), c);
    std::vector<at::Tensor> batches;
    for (const auto& b : calib) batches.push_back(b.to(device));
    {
      at::NoGradGuard ng;
      qm.set_mode(quant::Mode::kCalibrateActivations);
      for (const auto& b : batches) graph::run(qm.graph, b, qm.exec_options());
    }
    qm.calibrate_weights();
    auto cfg = rc;
    cfg.cache_device = device.str();
    quant::reconstruct::reconstruct(qm, batches, cfg);
    return qm;
  };
  auto cpu = run(c10::Device(c10::kCPU));
  auto gpu = run(c10::Device(c10::kCUDA, 0));
  int64_t same = 0, total = 0;
  for (const auto& w : cpu.weights) {
    const auto& node = cpu.graph.node(cpu.graph.find(w.node));
    const auto a = cpu.graph.param(node, "weight");
    const auto b = gpu.graph.param(node, "weight").cpu();
    same += at::isclose(a, b, 1e-5, 1e-7).sum().item<int64_t>();
    total += a.numel();
  }
  std::printf("[AdaRound W3A8, 20 iterations x 21 units: %lld of %lld weights identical on GPU and CPU]\n",
              static_cast<long long>(same), static_cast<long long>(total));
  EXPECT_GE(static_cast<double>(same) / static_cast<double>(total), 0.99);
}

}  // namespace
}  // namespace qsweep
