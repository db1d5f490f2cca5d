// CUDA builds with a GPU only (skipped elsewhere): each fused kernel of src/quant/cuda against the
// CPU path — fake-quant bit for bit (the sign of zero included), the MSE/EMAMSE search's choice
// exactly, AdaRound's soft weight and its gradient to float rounding.
#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "quant/cuda/device_ops.h"
#include "quant/fake_quant.h"
#include "quant/observers/mse_search.h"
#include "quant/reconstruct/adaround.h"

namespace qsweep {
namespace {

class FusedKernels : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!quant::cuda::kernels_built() || !at::hasCUDA()) GTEST_SKIP() << "no CUDA kernels in this build or no GPU";
  }
};

// Equal bits, not only equal values: −0 and +0 differ here.
bool same_bits(const at::Tensor& a, const at::Tensor& b) {
  return a.sizes() == b.sizes() && at::equal(a.contiguous().view(at::kInt), b.contiguous().view(at::kInt));
}

TEST_F(FusedKernels, PerTensorFakeQuantIsTheCpuPathBitForBit) {
  at::manual_seed(10);
  // An odd size takes the scalar kernel, a multiple of four the float4 one.
  for (int64_t n : {int64_t{64} * 64 * 56 * 56, int64_t{1000003}}) {
    const auto x = at::randn({n}) * 3;
    for (const auto& s : {quant::QScheme{8, false}, quant::QScheme{4, true}, quant::QScheme{2, false}}) {
      const auto qp = quant::compute_qparams(-2.5f, 4.0f, s);
      const auto gpu = quant::fake_quantize(x.cuda(), qp, s.range());
      EXPECT_TRUE(same_bits(gpu.cpu(), quant::fake_quantize(x, qp, s.range()))) << n << " " << s.bits;
      EXPECT_TRUE(at::equal(gpu, quant::fake_quantize_aten(x.cuda(), {at::scalar_tensor(qp.scale), at::scalar_tensor(qp.zero_point, at::kInt)}, s.range(), -1)));
    }
  }
}

// Axis 0 (weights) is the CPU's fused loop, bit for bit. Other axes take the CPU's composite,
// whose at::round keeps −0 where ATen's integer arithmetic and the kernel give +0: equal values,
// and the kernel's bits are ATen's.
TEST_F(FusedKernels, PerChannelFakeQuantIsTheCpuPathBitForBit) {
  at::manual_seed(11);
  const auto w = at::randn({64, 32, 3, 3});
  for (int64_t axis : {0, 1}) {
    const quant::QScheme s{4, true, true, axis};
    auto [lo, hi] = at::aminmax(w.transpose(0, axis).flatten(1), 1);
    const auto qp = quant::compute_qparams(lo, hi, s);
    const auto gpu = quant::fake_quantize(w.cuda(), qp, s.range(), axis).cpu();
    EXPECT_TRUE(same_bits(gpu, quant::fake_quantize_aten(w, qp, s.range(), axis))) << axis;
    EXPECT_TRUE(at::equal(gpu, quant::fake_quantize(w, qp, s.range(), axis))) << axis;
    if (axis == 0) {
      EXPECT_TRUE(same_bits(gpu, quant::fake_quantize(w, qp, s.range(), axis)));
    }
  }
}

TEST_F(FusedKernels, MseSearchChoosesTheCpuRange) {
  at::manual_seed(12);
  const auto act = at::relu(at::randn({32, 64, 28, 28})) * 2;  // post-ReLU: half zeros
  auto w = at::randn({48, 16, 3, 3}) * 0.1;
  w[5].zero_();  // an all-zero channel
  const auto wide = at::randn({64, 512, 3, 3}) * 0.05;  // 4608 values a row: two blocks per row
  for (double p : {2.0, 2.4}) {
    const quant::QScheme a{8, false};
    const auto [clo, chi] = quant::mse_search_batch(act, p, a);
    const auto [glo, ghi] = quant::mse_search_batch(act.cuda(), p, a);
    EXPECT_TRUE(at::equal(clo, glo.cpu()) && at::equal(chi, ghi.cpu())) << "per tensor, p " << p;
    const quant::QScheme pc{4, true, true, 0};
    const auto [wlo, whi] = quant::mse_search_batch(w, p, pc);
    const auto [gwlo, gwhi] = quant::mse_search_batch(w.cuda(), p, pc);
    EXPECT_TRUE(at::equal(wlo, gwlo.cpu()) && at::equal(whi, gwhi.cpu())) << "per channel, p " << p;
    const auto [vlo, vhi] = quant::mse_search_batch(wide, p, pc);
    const auto [gvlo, gvhi] = quant::mse_search_batch(wide.cuda(), p, pc);
    EXPECT_TRUE(at::equal(vlo, gvlo.cpu()) && at::equal(vhi, gvhi.cpu())) << "wide rows, p " << p;
    // A size that is no multiple of the kernel's tile: the last tile is partial.
    const auto odd = act.flatten().narrow(0, 0, 1000003).contiguous();
    const auto [olo, ohi] = quant::mse_search_batch(odd, p, a);
    const auto [golo, gohi] = quant::mse_search_batch(odd.cuda(), p, a);
    EXPECT_TRUE(at::equal(olo, golo.cpu()) && at::equal(ohi, gohi.cpu())) << "partial tile, p " << p;
  }
  // All zeros: the first candidate, as on the CPU.
  const auto zeros = at::zeros({4, 8, 8});
  const auto [zlo, zhi] = quant::mse_search_batch(zeros.cuda(), 2.0, quant::QScheme{8, false});
  EXPECT_EQ(zlo.cpu().item<float>(), 0.0f);
  EXPECT_EQ(zhi.cpu().item<float>(), 0.0f);
}

// The fused soft weight against the composite of quant/reconstruct/adaround.cpp on the same GPU
// (same α, same ⌊W/s⌋): the same operations in the same order, so value and gradient are expected
// bit for bit; against the CPU, to the last bits of sigmoid and log.
TEST_F(FusedKernels, AdaRoundSoftWeightAndGradientMatchTheComposite) {
  at::manual_seed(13);
  const auto w = at::randn({32, 16, 3, 3}) * 0.2;
  for (int64_t axis : {int64_t{0}, int64_t{1}, int64_t{-1}}) {
    const quant::QScheme s{3, true, axis >= 0, std::max<int64_t>(axis, 0)};
    const auto rows = axis >= 0 ? w.transpose(0, axis).flatten(1) : w.reshape({1, -1});
    auto [lo, hi] = at::aminmax(rows, 1);
    if (axis < 0) lo = lo.reshape({}), hi = hi.reshape({});
    auto qp = quant::compute_qparams(lo, hi, s);
    if (axis < 0) qp = {qp.scale.reshape({1}), qp.zero_point.reshape({1})};
    quant::reconstruct::LearnedRounding cpu(w, qp, s.range(), axis);
    quant::reconstruct::LearnedRounding gpu(w.cuda(), {qp.scale.cuda(), qp.zero_point.cuda()}, s.range(), axis);
    // Move α off its initial value so that clamps and both rounding directions are exercised.
    {
      at::NoGradGuard ng;
      const auto shift = at::randn(w.sizes()) * 3;
      cpu.alpha().add_(shift);
      gpu.alpha().add_(shift.cuda());
    }
    const auto g = at::randn(w.sizes());
    const auto yc = cpu.soft_weight();
    const auto yg = gpu.soft_weight();
    EXPECT_TRUE(at::allclose(yc, yg.detach().cpu(), 1e-6, 1e-7)) << axis;
    (yc * g).sum().backward();
    (yg * g.cuda()).sum().backward();
    EXPECT_TRUE(at::allclose(cpu.alpha().grad(), gpu.alpha().grad().cpu(), 1e-5, 1e-7)) << axis;
    EXPECT_TRUE(at::equal(cpu.hard_weight(), gpu.hard_weight().cpu())) << axis;

    // The composite on the GPU, from the same leaf: rebuild ⌊W/s⌋ and the broadcast qparams.
    std::vector<int64_t> shape(w.dim(), 1);
    if (axis >= 0) shape[axis] = w.size(axis);
    const auto sc = qp.scale.cuda().to(at::kFloat).reshape(shape);
    const auto zp = qp.zero_point.cuda().to(at::kLong).reshape(shape).to(at::kFloat);
    const auto floor_w = at::floor(w.cuda() / sc);
    const auto alpha = gpu.alpha().detach().clone().requires_grad_(true);
    const auto composite = (at::clamp(floor_w + quant::reconstruct::rectified_sigmoid(alpha) + zp,
                                      static_cast<double>(s.range().qmin), static_cast<double>(s.range().qmax)) -
                            zp) * sc;
    const auto fused = quant::cuda::adaround_soft_weight(floor_w, alpha, qp.scale, qp.zero_point, s.range(), axis);
    EXPECT_TRUE(same_bits(composite.detach(), fused.detach())) << axis;
    const auto alpha2 = alpha.detach().clone().requires_grad_(true);
    const auto fused2 = quant::cuda::adaround_soft_weight(floor_w, alpha2, qp.scale, qp.zero_point, s.range(), axis);
    (composite * g.cuda()).sum().backward();
    (fused2 * g.cuda()).sum().backward();
    EXPECT_TRUE(same_bits(alpha.grad(), alpha2.grad())) << axis;
  }
}

}  // namespace
}  // namespace qsweep
