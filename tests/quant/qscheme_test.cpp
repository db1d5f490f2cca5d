// SPEC §1.1–1.2 and the hand-computed references of SPEC §8, asserted exactly in float32.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <limits>

#include "quant/qscheme.h"

namespace qsweep::quant {
namespace {

QScheme asym(int bits) { return QScheme{bits, false}; }
QScheme sym(int bits, bool symmetric_range = false) {
  QScheme s{bits, true};
  s.symmetric_range = symmetric_range;
  return s;
}

TEST(QRange, FollowsBitWidthAndSignedness) {
  EXPECT_EQ(QRange::from(4, false), (QRange{0, 15}));
  EXPECT_EQ(QRange::from(2, false), (QRange{0, 3}));
  EXPECT_EQ(QRange::from(8, true), (QRange{-128, 127}));
  EXPECT_EQ(QRange::from(8, true, true), (QRange{-127, 127}));
  EXPECT_EQ(QRange::from(4, true), (QRange{-8, 7}));
  EXPECT_EQ(QRange::from(8, false, true), (QRange{0, 255}));  // symmetric_range only affects signed
}

TEST(QRange, RejectsBitsOutsideTwoToEight) {
  EXPECT_THROW(QRange::from(1, false), QuantError);
  EXPECT_THROW(QRange::from(9, true), QuantError);
  try {
    QRange::from(9, false);
  } catch (const QuantError& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 8], got 9"), std::string::npos) << e.what();
  }
}

TEST(ComputeQParams, AsymmetricFourBitReference) {
  const auto q = compute_qparams(-0.5f, 1.0f, asym(4));
  EXPECT_EQ(q.scale, 0.1f);
  EXPECT_EQ(q.zero_point, 5);
}

TEST(ComputeQParams, SymmetricDivisorIsHalfTheRange) {
  const auto q = compute_qparams(-1.0f, 2.0f, sym(8));
  EXPECT_EQ(q.scale, 2.0f / 127.5f);
  EXPECT_FLOAT_EQ(q.scale, 0.015686275f);
  EXPECT_EQ(q.zero_point, 0);
  EXPECT_EQ(1.0f / q.scale, 63.749996f);
  const auto n = compute_qparams(-1.0f, 2.0f, sym(8, true));
  EXPECT_EQ(n.scale, 2.0f / 127.0f);
}

TEST(ComputeQParams, ImageNetNormalisedInputRange) {
  const auto q = compute_qparams(-2.1179039f, 2.6400001f, asym(8));
  EXPECT_FLOAT_EQ(q.scale, 0.018658448f);
  EXPECT_EQ(q.zero_point, 114);  // −113.51 rounds to −114
}

TEST(ComputeQParams, RangeAlwaysContainsZero) {
  const auto q = compute_qparams(0.5f, 1.0f, asym(8));  // min raised to 0
  EXPECT_EQ(q.scale, 1.0f / 255.0f);
  EXPECT_EQ(q.zero_point, 0);
  const auto n = compute_qparams(-2.0f, -1.0f, asym(8));  // max lowered to 0
  EXPECT_EQ(n.zero_point, 255);
}

TEST(ComputeQParams, ScaleNeverBelowFloatEpsilon) {
  const auto q = compute_qparams(0.0f, 0.0f, asym(8));
  EXPECT_EQ(q.scale, std::numeric_limits<float>::epsilon());
  EXPECT_EQ(q.zero_point, 0);
}

TEST(ComputeQParams, ZeroPointRoundsHalfToEven) {
  // min_neg/scale = −2.5 exactly → nearbyint gives −2, so zp = 2 (half away from zero would give 3).
  const auto q = compute_qparams(-0.25f, 1.25f, asym(4));  // scale 1.5/15 = 0.1
  EXPECT_EQ(q.scale, 1.5f / 15.0f);
  EXPECT_EQ(-0.25f / q.scale, -2.5f);
  EXPECT_EQ(q.zero_point, 2);
}

TEST(ComputeQParams, PowerOfTwoScaleKeepsZeroPoint) {
  QScheme s = asym(8);
  s.pot_scale = true;
  const auto q = compute_qparams(-0.5f, 1.0f, s);
  EXPECT_EQ(q.scale, 1.0f / 128.0f);  // 1.5/255 = 0.00588 → 2^round(−7.41) = 2^−7
  EXPECT_EQ(q.zero_point, compute_qparams(-0.5f, 1.0f, asym(8)).zero_point);
}

TEST(ComputeQParams, NeverObservedGivesUnitScale) {
  const float inf = std::numeric_limits<float>::infinity();
  const auto q = compute_qparams(inf, -inf, asym(8));
  EXPECT_EQ(q.scale, 1.0f);
  EXPECT_EQ(q.zero_point, 0);
}

TEST(ComputeQParams, RejectsBadRanges) {
  EXPECT_THROW(compute_qparams(1.0f, -1.0f, asym(8)), QuantError);
  EXPECT_THROW(compute_qparams(std::nanf(""), 1.0f, asym(8)), QuantError);
  EXPECT_THROW(compute_qparams(-1.0f, std::numeric_limits<float>::infinity(), asym(8)), QuantError);
  EXPECT_THROW(compute_qparams(at::empty({0}), at::empty({0}), asym(8)), QuantError);
  EXPECT_THROW(compute_qparams(at::zeros({3}), at::ones({2}), asym(8)), QuantError);
}

TEST(ComputeQParams, TensorFormMatchesScalarFormPerChannel) {
  at::manual_seed(1);
  const auto lo = -at::rand({17});
  const auto hi = at::rand({17}) * 3;
  for (const auto& scheme : {asym(4), sym(8), sym(3, true)}) {
    const auto qp = compute_qparams(lo, hi, scheme);
    for (int c = 0; c < 17; ++c) {
      const auto s = compute_qparams(lo[c].item<float>(), hi[c].item<float>(), scheme);
      EXPECT_EQ(qp.scale[c].item<float>(), s.scale);
      EXPECT_EQ(qp.zero_point[c].item<int>(), s.zero_point);
    }
  }
}

TEST(ComputeQParams, PerChannelErrorNamesTheChannel) {
  auto lo = at::zeros({3});
  auto hi = at::ones({3});
  lo[2] = 5.0f;
  try {
    compute_qparams(lo, hi, asym(8));
    FAIL() << "expected QuantError";
  } catch (const QuantError& e) {
    EXPECT_NE(std::string(e.what()).find("channel 2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qsweep::quant
