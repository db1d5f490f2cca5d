// SPEC §1.3–1.4: exact references, bit-identity with ATen's kernels, properties and gradients.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "quant/fake_quant.h"

namespace qsweep::quant {
namespace {

float fq1(float x, ScalarQParams q, QRange r) { return fake_quantize(at::full({1}, x), q, r).item<float>(); }

TEST(FakeQuantize, AsymmetricFourBitReference) {
  const QRange r{0, 15};
  const ScalarQParams q{0.1f, 5};
  EXPECT_EQ(fq1(0.25f, q, r), 0.2f);  // 2.5 ties to even → 2
  EXPECT_EQ(fq1(0.05f, q, r), 0.0f);
  EXPECT_EQ(fq1(0.15f, q, r), 0.2f);
  EXPECT_EQ(fq1(-0.7f, q, r), -0.5f);
  EXPECT_EQ(fq1(1.3f, q, r), 1.0f);
}

TEST(FakeQuantize, SymmetricEightBitReference) {
  const QRange r{-128, 127};
  const ScalarQParams q{2.0f / 127.5f, 0};
  EXPECT_EQ(fq1(2.0f, q, r), 127 * q.scale);
  EXPECT_FLOAT_EQ(fq1(2.0f, q, r), 1.992157f);
  EXPECT_EQ(fq1(1.0f, q, r), 64 * q.scale);
  EXPECT_FLOAT_EQ(fq1(1.0f, q, r), 1.003922f);
  // x·inv = −127.49999 in float32, so −2.0 lands on −127, not −128 (SPEC §8).
  EXPECT_EQ(fq1(-2.0f, q, r), -127 * q.scale);
  const ScalarQParams n{2.0f / 127.0f, 0};
  EXPECT_EQ(fq1(2.0f, n, {-127, 127}), 2.0f);
  EXPECT_EQ(fq1(-2.0f, n, {-127, 127}), -2.0f);
}

TEST(FakeQuantize, ZeroIsExactForImageNetInputRange) {
  const auto qp = compute_qparams(-2.1179039f, 2.6400001f, QScheme{8, false});
  EXPECT_EQ(fq1(0.0f, qp, {0, 255}), 0.0f);
}

QParams per_tensor(float s, int zp) { return {at::full({1}, s), at::full({1}, zp, at::kInt)}; }

TEST(FakeQuantize, BitIdenticalToAtenPerTensorOverManyShapesAndBits) {
  at::manual_seed(7);
  const std::vector<std::vector<int64_t>> shapes = {{1}, {7}, {3, 5}, {2, 3, 4, 5}, {64, 16, 9, 9}, {1, 1, 1, 100003}};
  int64_t checked = 0;
  for (const auto& shape : shapes) {
    for (int bits = 2; bits <= 8; ++bits) {
      for (bool symmetric : {false, true}) {
        const QScheme s{bits, symmetric};
        const auto x = at::randn(shape) * (0.1 + at::rand({1}).item<double>() * 5);
        auto [lo, hi] = at::aminmax(x);
        const float shrink = 0.6f + 0.4f * at::rand({1}).item<float>();  // some values clip
        const auto qp = compute_qparams(lo * shrink, hi * shrink, s);
        const auto ours = fake_quantize(x, qp, s.range(), -1);
        const auto ref = fake_quantize_aten(x, qp, s.range(), -1);
        ASSERT_TRUE(at::equal(ours, ref)) << "shape " << c10::str(shape) << " " << s.str() << " mismatches "
                                          << (ours != ref).sum().item<int64_t>();
        checked += x.numel();
      }
    }
  }
  EXPECT_GT(checked, 1000000);
}

TEST(FakeQuantize, BitIdenticalToAtenOnExactTies) {
  // Values on exact half-steps exercise round-half-to-even.
  const auto x = (at::arange(-40, 40, at::kFloat) + 0.5f) * 0.25f;
  const auto qp = per_tensor(0.25f, 3);
  EXPECT_TRUE(at::equal(fake_quantize(x, qp, {0, 15}, -1), fake_quantize_aten(x, qp, {0, 15}, -1)));
  EXPECT_TRUE(at::equal(fake_quantize(x, per_tensor(0.25f, 0), {-8, 7}, -1),
                        fake_quantize_aten(x, per_tensor(0.25f, 0), {-8, 7}, -1)));
}

TEST(FakeQuantize, BitIdenticalToAtenPerChannelOnAnyAxis) {
  at::manual_seed(3);
  for (int axis = 0; axis < 4; ++axis) {
    for (int bits : {2, 4, 8}) {
      const auto w = at::randn({6, 5, 3, 4});
      const QScheme s{bits, false, true, axis};
      auto y = w.transpose(0, axis).flatten(1);
      auto [lo, hi] = at::aminmax(y, 1);
      const auto qp = compute_qparams(lo * 0.9, hi * 0.8, s);
      ASSERT_TRUE(at::equal(fake_quantize(w, qp, s.range(), axis), fake_quantize_aten(w, qp, s.range(), axis)))
          << "axis " << axis << " bits " << bits;
    }
  }
}

TEST(FakeQuantize, Idempotent) {
  at::manual_seed(11);
  const auto x = at::randn({4096}) * 3;
  for (int bits : {2, 3, 4, 8}) {
    const QScheme s{bits, false};
    const auto qp = compute_qparams(at::scalar_tensor(-2.0f), at::scalar_tensor(5.0f), s);
    const auto once = fake_quantize(x, qp, s.range(), -1);
    EXPECT_TRUE(at::equal(fake_quantize(once, qp, s.range(), -1), once)) << bits;
  }
}

TEST(FakeQuantize, ZeroExactlyRepresentableForAffine) {
  at::manual_seed(5);
  for (int i = 0; i < 200; ++i) {
    const float lo = -at::rand({1}).item<float>() * 10, hi = at::rand({1}).item<float>() * 10;
    const int bits = 2 + i % 7;
    const auto q = compute_qparams(lo, hi, QScheme{bits, false});
    EXPECT_EQ(fq1(0.0f, q, QRange::from(bits, false)), 0.0f) << lo << " " << hi << " " << bits;
  }
}

TEST(FakeQuantize, SingleChannelPerChannelEqualsPerTensor) {
  at::manual_seed(9);
  const auto x = at::randn({1, 8, 5, 5});
  const QScheme s{4, false, true, 0};
  const auto qp = compute_qparams(at::full({1}, -1.2f), at::full({1}, 0.9f), s);
  EXPECT_TRUE(at::equal(fake_quantize(x, qp, s.range(), 0), fake_quantize(x, qp, s.range(), -1)));
}

TEST(FakeQuantize, InRangeValuesRoundTripWithinHalfAStep) {
  at::manual_seed(13);
  for (int bits = 2; bits <= 8; ++bits) {
    const float lo = -1.5f, hi = 2.5f;
    const auto x = at::rand({10000}) * (hi - lo) + lo;
    const QScheme s{bits, false};
    const auto q = compute_qparams(lo, hi, s);
    const auto err = (fake_quantize(x, q, s.range()) - x).abs().max().item<float>();
    EXPECT_LE(err, q.scale / 2 * (1 + 1e-5f)) << bits;
  }
}

TEST(FakeQuantize, StraightThroughGradientInsideRangeOnly) {
  auto x = at::tensor({-3.0f, -0.4f, 0.3f, 0.9f, 5.0f}).set_requires_grad(true);
  const ScalarQParams q{0.1f, 5};  // representable range [−0.5, 1.0]
  auto y = fake_quantize(x, q, {0, 15});
  EXPECT_TRUE(at::equal(y.detach(), fake_quantize(x.detach(), q, {0, 15})));
  y.sum().backward();
  EXPECT_TRUE(at::equal(x.grad(), at::tensor({0.0f, 1.0f, 1.0f, 1.0f, 0.0f})));
}

TEST(FakeQuantize, ComposesWithOtherDtypes) {
  const auto x = at::linspace(-1, 1, 101, at::kDouble);
  const auto y = fake_quantize(x, ScalarQParams{0.1f, 5}, {0, 15});
  EXPECT_EQ(y.scalar_type(), at::kDouble);
  EXPECT_TRUE(at::equal(y.to(at::kFloat), fake_quantize(x.to(at::kFloat), ScalarQParams{0.1f, 5}, {0, 15})));
}

TEST(FakeQuantize, RejectsMismatchedQParams) {
  const auto x = at::randn({4, 3});
  EXPECT_THROW(fake_quantize(x, QParams{at::ones({2}), at::zeros({2}, at::kInt)}, {0, 255}, -1), QuantError);
  EXPECT_THROW(fake_quantize(x, QParams{at::ones({2}), at::zeros({2}, at::kInt)}, {0, 255}, 1), QuantError);
  EXPECT_THROW(fake_quantize(at::ones({3}, at::kInt), ScalarQParams{}, {0, 255}), QuantError);
}

TEST(FakeQuantizeLearnable, DividesAndLearnsScale) {
  auto x = at::tensor({-0.7f, 0.25f, 0.33f, 1.3f});
  auto scale = at::full({1}, 0.1f).set_requires_grad(true);
  const auto zp = at::full({1}, 5.0f);
  auto y = fake_quantize_learnable(x, scale, zp, {0, 15}, -1);
  const auto expected = (at::clamp(at::round(x / 0.1f) + 5, 0, 15) - 5) * 0.1f;
  EXPECT_TRUE(at::equal(y.detach(), expected));
  y.sum().backward();
  ASSERT_TRUE(scale.grad().defined());
  // d/ds of (clamp(round(x/s)+zp) − zp)·s with STE: clamped elements give (q−zp), others round(x/s) − x/s.
  const float g = (-5.0f) + (std::nearbyint(0.25f / 0.1f) - 0.25f / 0.1f) + (std::nearbyint(0.33f / 0.1f) - 0.33f / 0.1f) + 10.0f;
  EXPECT_NEAR(scale.grad().item<float>(), g, 1e-4);
}

TEST(FakeQuantizeLearnable, PerChannelBroadcastsAlongAxis) {
  const auto w = at::randn({3, 4});
  const auto s = at::tensor({0.1f, 0.2f, 0.3f});
  const auto z = at::zeros({3});
  const auto y = fake_quantize_learnable(w, s, z, {-8, 7}, 0);
  for (int c = 0; c < 3; ++c) {
    const auto ref = at::clamp(at::round(w[c] / s[c]), -8, 7) * s[c];
    EXPECT_TRUE(at::equal(y[c], ref)) << c;
  }
}

}  // namespace
}  // namespace qsweep::quant

namespace qsweep::quant {
namespace {

TEST(FakeQuantizeLearnable, FusedNoGradPathEqualsTheAutogradComposite) {
  at::manual_seed(11);
  for (float s : {0.1f, 0.0821f, 0.37f}) {
    for (int zp : {0, 3}) {
      // Random values plus exact ties (k + 0.5)·s and out-of-range ones.
      auto x = at::cat({at::randn({100000}) * 2.0, (at::arange(-20, 20, at::kFloat) + 0.5f) * s});
      const auto scale = at::full({1}, s);
      const auto z = at::full({1}, zp, at::kInt);
      const auto fused = fake_quantize_learnable(x, scale, z, {0, 15}, -1);  // no grad: fused path
      const auto with_grad = scale.clone().requires_grad_(true);
      const auto composite = fake_quantize_learnable(x, with_grad, z, {0, 15}, -1).detach();
      EXPECT_TRUE(at::equal(fused, composite)) << s << " " << zp;
    }
  }
}

}  // namespace
}  // namespace qsweep::quant
