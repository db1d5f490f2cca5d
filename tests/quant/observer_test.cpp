// SPEC §2: observer update rules, the registry, and the MSE search against MQBench's literal loop.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "quant/observer.h"
#include "quant/observers/mse_search.h"
#include "quant/observers/pow_nonneg.h"

namespace qsweep::quant {
namespace {

ObserverOptions per_tensor(int bits = 8, bool symmetric = false) {
  ObserverOptions o;
  o.scheme = QScheme{bits, symmetric};
  return o;
}

float f(const at::Tensor& t) { return t.item<float>(); }

TEST(Observer, RegistryKnowsEveryTableCalibrator) {
  for (const char* n : {"minmax", "ema_minmax", "ema_quantile", "ema_quantile_legacy", "mse", "ema_mse"}) {
    EXPECT_EQ(make_observer(n, per_tensor())->name(), std::string(n));
  }
}

TEST(Observer, UnknownNameSuggestsTheClosest) {
  try {
    make_observer("emamse", per_tensor());
    FAIL();
  } catch (const QuantError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("did you mean 'ema_mse'?"), std::string::npos) << m;
    EXPECT_NE(m.find("known: minmax, ema_minmax"), std::string::npos) << m;
  }
}

TEST(Observer, QuantileIsPerTensorOnly) {
  ObserverOptions o = per_tensor();
  o.scheme.per_channel = true;
  EXPECT_THROW(make_observer("ema_quantile", o), QuantError);
}

TEST(Observer, RejectsBadInput) {
  auto obs = make_observer("minmax", per_tensor());
  EXPECT_THROW(obs->observe(at::empty({0})), QuantError);
  EXPECT_THROW(obs->observe(at::tensor({1.0f, std::nanf("")})), QuantError);
  EXPECT_THROW(obs->observe(at::tensor({1.0f, INFINITY})), QuantError);
  EXPECT_THROW(obs->observe(at::ones({3}, at::kInt)), QuantError);
  ObserverOptions bad = per_tensor();
  bad.scheme.bits = 9;
  EXPECT_THROW(make_observer("minmax", bad), QuantError);
}

TEST(Observer, UnobservedGivesUnitScale) {
  auto qp = make_observer("ema_minmax", per_tensor())->qparams();
  EXPECT_EQ(f(qp.scale), 1.0f);
  EXPECT_EQ(qp.zero_point.item<int>(), 0);
}

TEST(MinMaxObserver, RunningExtremes) {
  auto obs = make_observer("minmax", per_tensor());
  obs->observe(at::tensor({-1.0f, 2.0f}));
  obs->observe(at::tensor({-0.5f, 3.0f}));
  obs->observe(at::tensor({-2.0f, 1.0f}));
  EXPECT_EQ(f(obs->min_val()), -2.0f);
  EXPECT_EQ(f(obs->max_val()), 3.0f);
  EXPECT_EQ(obs->batches_seen(), 3);
}

TEST(MinMaxObserver, PerChannelAlongAxis) {
  ObserverOptions o = per_tensor(4);
  o.scheme.per_channel = true;
  o.scheme.ch_axis = 1;
  auto obs = make_observer("minmax", o);
  auto x = at::arange(24, at::kFloat).reshape({2, 3, 4});  // channel c holds 4c..4c+3 and 12+4c..
  obs->observe(x);
  EXPECT_TRUE(at::equal(obs->min_val(), at::tensor({0.0f, 4.0f, 8.0f})));
  EXPECT_TRUE(at::equal(obs->max_val(), at::tensor({15.0f, 19.0f, 23.0f})));
  EXPECT_EQ(obs->qparams().scale.numel(), 3);
}

TEST(EmaMinMaxObserver, FirstBatchInitialisesThenBlends) {
  auto obs = make_observer("ema_minmax", per_tensor());
  obs->observe(at::tensor({-1.0f, 2.0f}));
  EXPECT_EQ(f(obs->min_val()), -1.0f);
  obs->observe(at::tensor({-3.0f, 4.0f}));
  EXPECT_EQ(f(obs->min_val()), -1.0f * 0.9f + -3.0f * 0.1f);
  EXPECT_EQ(f(obs->max_val()), 2.0f * 0.9f + 4.0f * 0.1f);
}

TEST(EmaMinMaxObserver, DependsOnBatchOrder) {
  auto a = make_observer("ema_minmax", per_tensor());
  auto b = make_observer("ema_minmax", per_tensor());
  const auto x1 = at::tensor({0.0f, 1.0f}), x2 = at::tensor({0.0f, 5.0f});
  a->observe(x1);
  a->observe(x2);
  b->observe(x2);
  b->observe(x1);
  EXPECT_NE(f(a->max_val()), f(b->max_val()));
}

TEST(EmaQuantileObserver, ClipsRareOutliers) {
  auto obs = make_observer("ema_quantile", per_tensor());
  auto x = at::cat({at::rand({1000000}), at::full({5}, 100.0f)});
  obs->observe(x);
  // 99.999 % of |x| lie below 1.0; bins are 100/2048 wide, so the clip is the centre of bin 20.
  EXPECT_EQ(f(obs->max_val()), 20.5f * (100.0f / 2048.0f));
  EXPECT_EQ(f(obs->min_val()), f(x.min()));
}

TEST(EmaQuantileObserver, LegacyVariantBehavesAsEmaMinMax) {
  at::manual_seed(2);
  auto legacy = make_observer("ema_quantile_legacy", per_tensor());
  auto ema = make_observer("ema_minmax", per_tensor());
  for (int b = 0; b < 4; ++b) {
    auto x = at::cat({at::randn({20000}), at::full({3}, 50.0f)});
    legacy->observe(x);
    ema->observe(x);
  }
  EXPECT_EQ(f(legacy->max_val()), f(ema->max_val()));
  EXPECT_EQ(f(legacy->min_val()), f(ema->min_val()));
}

// SPEC §8: x = float32(0.5·sin k), k = 1..40, plus 3.0.
at::Tensor spec_mse_tensor() {
  std::vector<float> v;
  for (int k = 1; k <= 40; ++k) v.push_back(static_cast<float>(0.5 * std::sin(k)));
  v.push_back(3.0f);
  return at::tensor(v);
}

TEST(MseSearch, SpecReferenceFourBit) {
  const auto x = spec_mse_tensor();
  const QScheme s{4, false};
  for (double p : {2.0, 2.4}) {
    const auto c = mse_search(x, f(x.min()), f(x.max()), kMseStepsPerTensor, p, s);
    EXPECT_EQ(c.step, 2) << p;
    const auto q = compute_qparams(c.min_val, c.max_val, s);
    EXPECT_FLOAT_EQ(q.scale, 0.22866635f);
    EXPECT_EQ(q.zero_point, 2);
  }
}

TEST(MseSearch, SpecReferenceTwoBit) {
  const auto x = spec_mse_tensor();
  const QScheme s{2, false};
  const auto c2 = mse_search(x, f(x.min()), f(x.max()), kMseStepsPerChannel, 2.0, s);
  EXPECT_EQ(c2.step, 40);
  EXPECT_FLOAT_EQ(compute_qparams(c2.min_val, c2.max_val, s).scale, 0.6999990f);
  const auto c24 = mse_search(x, f(x.min()), f(x.max()), kMseStepsPerChannel, 2.4, s);
  EXPECT_EQ(c24.step, 34);
  EXPECT_FLOAT_EQ(compute_qparams(c24.min_val, c24.max_val, s).scale, 0.7699990f);
  EXPECT_EQ(compute_qparams(c24.min_val, c24.max_val, s).zero_point, 0);
}

// mse_search picks exactly the candidate of MQBench's per-candidate loop.
void ExpectReferenceChoice(const at::Tensor& x, const QScheme& s, double p, int trial) {
  const float lo = f(x.min()), hi = f(x.max());
  const auto fast = mse_search(x, lo, hi, kMseStepsPerTensor, p, s);
  const auto ref = mse_search_reference(x, lo, hi, kMseStepsPerTensor, p, s);
  EXPECT_EQ(fast.step, ref.step) << "trial " << trial << " bits " << s.bits << " p " << p;
  EXPECT_EQ(fast.min_val, ref.min_val) << "trial " << trial;
  EXPECT_EQ(fast.max_val, ref.max_val) << "trial " << trial;
}

TEST(MseSearch, SameChoiceAsTheReferenceLoop) {
  at::manual_seed(17);
  int cases = 0;
  for (int trial = 0; trial < 12; ++trial) {
    const int bits = 2 + trial % 7;
    const bool symmetric = trial % 3 == 0;
    const double p = trial % 2 ? 2.4 : 2.0;
    at::Tensor x = trial % 4 == 1 ? at::relu(at::randn({20000})) : at::randn({20000}) * 2 + 0.3;
    if (trial % 5 == 2) x = at::round(x * 4) / 4;  // many values on exact grid points: near-ties
    ExpectReferenceChoice(x, QScheme{bits, symmetric}, p, trial);
    ++cases;
  }
  EXPECT_EQ(cases, 12);
}

TEST(MseSearch, PowNonnegWithinItsStatedError) {
  double worst = 0;
  for (float p : {1.0f, 1.5f, 2.0f, 2.4f, 3.0f, 4.0f, 8.0f}) {
    for (double le = -30; le <= 6; le += 0.0137) {  // e from 1e-30 to 1e6, off the powers of two
      const float e = static_cast<float>(std::pow(10.0, le));
      const double want = std::pow(static_cast<double>(e), static_cast<double>(p));
      if (want < 1e-37 || want > 1e37) continue;  // outside float's normal range
      const double err = std::abs(pow_nonneg(e, p) - want) / want;
      worst = std::max(worst, err);
      ASSERT_LE(err, 1e-5) << "e " << e << " p " << p;
    }
    EXPECT_EQ(pow_nonneg(0.0f, p), 0.0f);
    EXPECT_EQ(pow_nonneg(-0.0f, p), 0.0f);
    EXPECT_EQ(pow_nonneg(1.0f, p), 1.0f);
  }
  EXPECT_GT(worst, 0.0);  // an approximation: the test looks at real differences
}

TEST(MseSearch, SameChoiceAsTheReferenceLoopForOtherP) {
  at::manual_seed(23);
  for (int trial = 0; trial < 10; ++trial) {
    const int bits = 2 + trial % 7;
    const bool symmetric = trial % 3 == 0;
    const double p = trial % 2 ? 2.4 : 3.0;
    const int64_t n = trial % 4 == 3 ? 36 : 30000;  // a per-channel weight row, an activation
    at::Tensor x = trial % 4 == 1 ? at::relu(at::randn({n})) : at::randn({n}) * 0.05 + 0.01;
    if (trial % 5 == 2) x = at::round(x * 64) / 64;  // values on grid points: near-ties
    ExpectReferenceChoice(x, QScheme{bits, symmetric}, p, trial);
  }
}

TEST(MseSearch, ZerosAreSkippedExactly) {
  for (double p : {2.0, 2.4}) {
    ExpectReferenceChoice(at::zeros({5000}), QScheme{8, false}, p, 0);       // nothing but zeros
    ExpectReferenceChoice(-at::zeros({300}), QScheme{4, true}, p, 1);        // negative zeros
    auto one = at::zeros({5000});
    one[4321] = 3.5f;
    ExpectReferenceChoice(one, QScheme{4, false}, p, 2);                     // a single non-zero
    ExpectReferenceChoice(at::relu(at::randn({9000})), QScheme{3, true}, p, 3);  // half zeros, signed range
  }
}

TEST(MseSearch, RejectsPOutsideOneToEight) {  // pow_nonneg's precondition
  const auto x = at::randn({100});
  EXPECT_THROW(mse_search(x, -1.0f, 1.0f, kMseStepsPerTensor, 0.5, QScheme{8, false}), QuantError);
  EXPECT_THROW(mse_search(x, -1.0f, 1.0f, kMseStepsPerTensor, 1e9, QScheme{8, false}), QuantError);
  EXPECT_THROW(mse_search(x, -1.0f, 1.0f, kMseStepsPerTensor, std::nan(""), QScheme{8, false}), QuantError);
}

TEST(MseObserver, PerChannelSearchesEachChannel) {
  at::manual_seed(4);
  ObserverOptions o = per_tensor(4);
  o.scheme.per_channel = true;
  auto obs = make_observer("mse", o);
  const auto w = at::randn({8, 4, 3, 3});
  obs->observe(w);
  for (int c = 0; c < 8; ++c) {
    const auto row = w[c].flatten();
    const auto ref = mse_search_reference(row, f(row.min()), f(row.max()), kMseStepsPerChannel, 2.0, o.scheme);
    EXPECT_EQ(obs->min_val()[c].item<float>(), ref.min_val) << c;
    EXPECT_EQ(obs->max_val()[c].item<float>(), ref.max_val) << c;
  }
}

TEST(MseObserver, RunningWidestAcrossBatches) {
  at::manual_seed(6);
  auto obs = make_observer("mse", per_tensor(4));
  const auto a = at::randn({5000}), b = at::randn({5000}) * 3;
  obs->observe(a);
  const float max_a = f(obs->max_val());
  obs->observe(b);
  const auto [lo_b, hi_b] = mse_search_batch(b, 2.0, QScheme{4, false});
  EXPECT_EQ(f(obs->max_val()), std::max(max_a, f(hi_b)));
}

TEST(EmaMseObserver, BlendsPerBatchSearchResults) {
  at::manual_seed(8);
  auto obs = make_observer("ema_mse", per_tensor(8));
  const auto a = at::randn({5000}), b = at::randn({5000}) * 2;
  obs->observe(a);
  obs->observe(b);
  const auto [lo_a, hi_a] = mse_search_batch(a, 2.0, QScheme{8, false});
  const auto [lo_b, hi_b] = mse_search_batch(b, 2.0, QScheme{8, false});
  EXPECT_EQ(f(obs->max_val()), f(hi_a * 0.9 + hi_b * (1.0 - 0.9)));
}

}  // namespace
}  // namespace qsweep::quant
