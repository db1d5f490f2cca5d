// e^p for e ≥ 0 in float32 arithmetic that vectorises: 2^(p·log2 e), log2 from the exponent bits
// plus an atanh series on the mantissa, 2^y from rounding plus a Taylor series. The MSE search
// with p ≠ 2 (EMAMSE/MSE, p 2.4, under AdaRound/BRECQ/QDrop) calls it ~10⁹ times per task: a
// scalar std::pow or ATen's pow per element made that search 20× slower than p = 2.
//
// Precondition: 1 ≤ p ≤ 8 (mse_search checks it; sweep files and `qsweep eval` reject others).
// Accuracy: relative error ≤ 1e-5 against std::pow for 1e-30 ≤ e ≤ 1e6 and 1 ≤ p ≤ 8 within
// float's normal range (tests/quant/observer_test.cpp). Outside it: e below 2^-126 and results
// below 2^-125 give 0, results above 2^127 saturate (≤ 2^128), inf/NaN e are not supported.
// The search re-scores every candidate within 1e-4 of the best with the reference arithmetic, so
// the error cannot change the winner unless a score is dominated by such flushed or saturated
// terms.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace qsweep::quant {

inline float pow_nonneg(float e, float p) {
  std::uint32_t bits;
  std::memcpy(&bits, &e, sizeof bits);
  bits &= 0x7fffffffu;  // −0 is 0
  // e = m · 2^ex with m in [√½, √2): ln m by 2·atanh((m−1)/(m+1)), |s| ≤ 0.172, error < 1e-9.
  std::int32_t ex = static_cast<std::int32_t>(bits >> 23) - 127;
  const std::uint32_t mbits = (bits & 0x7fffffu) | 0x3f800000u;
  float m;
  std::memcpy(&m, &mbits, sizeof m);
  const std::int32_t big = m > 1.41421356f;  // branch-free below, so that loops over it vectorise
  m *= 1.0f - 0.5f * static_cast<float>(big);
  ex += big;
  const float s = (m - 1.0f) / (m + 1.0f);
  const float s2 = s * s;
  const float ln_m = 2.0f * s * (1.0f + s2 * (1.0f / 3 + s2 * (1.0f / 5 + s2 * (1.0f / 7 + s2 * (1.0f / 9)))));
  // p · log2 e: |y| ≤ 8 · 129 for 1 ≤ p ≤ 8 (every bit pattern of e gives a finite ex and m), so the
  // rounding below and the int conversion are defined; a clamp of y here stops GCC vectorising.
  const float y = p * static_cast<float>(ex) + p * (ln_m * 1.44269504f);
  // 2^y = 2^n · e^(f·ln 2), n = round(y), |f| ≤ ½: Taylor to t^7, error < 1e-8.
  constexpr float kRoundMagic = 12582912.0f;  // 1.5 · 2^23: round to nearest
  const float n = (y + kRoundMagic) - kRoundMagic;
  const float t = (y - n) * 0.693147181f;
  const float exp_t =
      1.0f + t * (1.0f + t * (0.5f + t * (1.0f / 6 + t * (1.0f / 24 + t * (1.0f / 120 + t * (1.0f / 720 + t * (1.0f / 5040)))))));
  // 2^n with n ≥ −125, so that no product is denormal: a denormal operand or result costs a
  // microcode assist of ~100 cycles, and half of a post-ReLU activation is exactly 0. Results below
  // 2^−125 are flushed to 0 instead (std::pow would give a denormal or 0).
  const std::int32_t ni = std::min(std::max(static_cast<std::int32_t>(n), -125), 127);
  const std::uint32_t two_n_bits = static_cast<std::uint32_t>(ni + 127) << 23;
  float two_n;
  std::memcpy(&two_n, &two_n_bits, sizeof two_n);
  const std::int32_t zero = (bits < 0x00800000u) | (n < -125.0f);  // e = 0 or denormal, or too small
  return exp_t * two_n * static_cast<float>(1 - zero);
}

}  // namespace qsweep::quant
