// SPEC §5.3–5.4: learned rounding at initialisation and after convergence, the rounding loss and β
// schedule at chosen iterations, and the hand-written Adam against torch.optim.Adam's formula.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <cmath>

#include "quant/fake_quant.h"
#include "quant/observer.h"
#include "quant/reconstruct/adam.h"
#include "quant/reconstruct/adaround.h"

namespace qsweep::quant::reconstruct {
namespace {

struct Weight {
  at::Tensor w;
  QScheme scheme;
  QParams qp;
};

Weight weight(int bits) {
  at::manual_seed(3);
  Weight x{at::randn({8, 4, 3, 3}) * 0.2, {}, {}};
  x.scheme.bits = bits;
  x.scheme.per_channel = true;
  ObserverOptions o;
  o.scheme = x.scheme;
  o.p = 2.4;
  auto obs = make_observer("mse", o);
  obs->observe(x.w);
  x.qp = obs->qparams();
  return x;
}

TEST(AdaRound, InitialRectifiedSigmoidIsTheFractionalPart) {
  for (int bits : {2, 4, 8}) {
    const auto x = weight(bits);
    LearnedRounding r(x.w, x.qp, x.scheme.range(), 0);
    const auto v = x.w / x.qp.scale.reshape({-1, 1, 1, 1});
    const auto rest = v - at::floor(v);
    const double err = (rectified_sigmoid(r.alpha()) - rest).abs().max().item<double>();
    EXPECT_LE(err, 4 * std::ldexp(1.0, -23)) << bits;  // a few float32 ulps of 1
    // Inside the range the soft weight starts as the float weight itself.
    const auto zp = x.qp.zero_point.reshape({-1, 1, 1, 1}).to(at::kFloat);
    const auto in_range = (at::floor(v) + zp >= x.scheme.range().qmin) & (at::floor(v) + zp + 1 <= x.scheme.range().qmax);
    const auto diff = (r.soft_weight() - x.w).abs().masked_select(in_range).max().item<double>();
    EXPECT_LE(diff, 1e-6) << bits;
  }
}

TEST(AdaRound, HardRoundingOfConvergedAlphaIsOnTheGrid) {
  const auto x = weight(4);
  LearnedRounding r(x.w, x.qp, x.scheme.range(), 0);
  {
    at::NoGradGuard ng;
    at::manual_seed(5);
    r.alpha().copy_(at::where(at::rand(r.alpha().sizes()) < 0.5, at::full({}, -30.0), at::full({}, 30.0)));
  }
  const auto hard = r.hard_weight();
  const auto s = x.qp.scale.reshape({-1, 1, 1, 1});
  const auto zp = x.qp.zero_point.reshape({-1, 1, 1, 1}).to(at::kFloat);
  const auto code = hard / s + zp;
  EXPECT_LE((code - at::round(code)).abs().max().item<double>(), 1e-4);
  EXPECT_GE(at::round(code).min().item<double>(), x.scheme.range().qmin);
  EXPECT_LE(at::round(code).max().item<double>(), x.scheme.range().qmax);
  // Converged: h is exactly 0 or 1, so soft and hard agree, and nearest fake-quant leaves it alone.
  EXPECT_TRUE(at::equal(r.soft_weight().detach(), hard));
  EXPECT_TRUE(at::equal(fake_quantize(hard, x.qp, x.scheme.range(), 0), hard));
  // Each code is the floor or the ceiling of the float weight's code.
  const auto v = x.w / s;
  const auto k = at::round(code) - zp;
  EXPECT_TRUE((((k - at::floor(v)).ge(0) & (k - at::floor(v)).le(1)) | k.eq(x.scheme.range().qmin - zp) |
               k.eq(x.scheme.range().qmax - zp)).all().item<bool>());
}

TEST(AdaRound, RoundLossMatchesTheFormula) {
  const auto x = weight(2);
  LearnedRounding r(x.w, x.qp, x.scheme.range(), 0);
  for (double beta : {20.0, 11.0, 2.0}) {
    const auto h = rectified_sigmoid(r.alpha()).to(at::kDouble);
    const double expected = (1.0 - (2.0 * h - 1.0).abs().pow(beta)).sum().item<double>();
    EXPECT_NEAR(r.round_loss(beta).item<double>(), expected, 1e-3 * std::max(1.0, expected)) << beta;
  }
  // h = 0.5 everywhere ⇒ every element contributes 1.
  {
    at::NoGradGuard ng;
    r.alpha().copy_(alpha_for_rest(at::full_like(r.alpha(), 0.5)));
  }
  EXPECT_NEAR(r.round_loss(2.0).item<double>(), static_cast<double>(x.w.numel()), 1e-2);
}

TEST(AdaRound, BetaScheduleAndWarmUp) {
  // T = 20000, warm-up 0.2: β = 20 before t = 4000, then linear to 2 at t = T.
  EXPECT_EQ(beta_at(1, 20000, 0.2, 20, 2), 20.0);
  EXPECT_EQ(beta_at(3999, 20000, 0.2, 20, 2), 20.0);
  EXPECT_DOUBLE_EQ(beta_at(4000, 20000, 0.2, 20, 2), 20.0);
  EXPECT_DOUBLE_EQ(beta_at(12000, 20000, 0.2, 20, 2), 11.0);
  EXPECT_DOUBLE_EQ(beta_at(19500, 20000, 0.2, 20, 2), 2.0 + 18.0 * 500.0 / 16000.0);
  EXPECT_DOUBLE_EQ(beta_at(20000, 20000, 0.2, 20, 2), 2.0);
  EXPECT_FALSE(round_loss_active(3999, 20000, 0.2));
  EXPECT_TRUE(round_loss_active(4000, 20000, 0.2));
  EXPECT_TRUE(round_loss_active(1, 100, 0.0));
}

TEST(Adam, MatchesTorchOptimAdamStepByStep) {
  auto p = at::tensor({0.5, -1.0}, at::kDouble).requires_grad_(true);
  Adam opt({p}, 1e-3);
  double ref[2] = {0.5, -1.0}, m[2] = {0, 0}, v[2] = {0, 0};
  for (int t = 1; t <= 3; ++t) {
    const auto loss = (p * p * p).sum();  // g = 3p²
    opt.zero_grad();
    loss.backward();
    opt.step();
    for (int i = 0; i < 2; ++i) {
      const double g = 3 * ref[i] * ref[i];
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.999 * v[i] + 0.001 * g * g;
      ref[i] -= 1e-3 / (1 - std::pow(0.9, t)) * m[i] / (std::sqrt(v[i]) / std::sqrt(1 - std::pow(0.999, t)) + 1e-8);
    }
    EXPECT_NEAR(p[0].item<double>(), ref[0], 1e-15);
    EXPECT_NEAR(p[1].item<double>(), ref[1], 1e-15);
  }
  EXPECT_DOUBLE_EQ(cosine_lr(4e-5, 0, 100), 4e-5);
  EXPECT_NEAR(cosine_lr(4e-5, 50, 100), 2e-5, 1e-20);
  EXPECT_NEAR(cosine_lr(4e-5, 100, 100), 0.0, 1e-20);
}

}  // namespace
}  // namespace qsweep::quant::reconstruct
