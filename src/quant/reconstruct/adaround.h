// AdaRound's learned rounding of one conv/linear weight (SPEC §5.3) and its regulariser schedule
// (SPEC §5.4), as MQBench's AdaRoundFakeQuantize and LossFunction compute them.
//
//   LearnedRounding r(weight, weight_quantizer.qparams(), scheme.range(), scheme.axis());
//   at::Tensor w = r.soft_weight();              // (clamp(⌊W/s⌋ + h(α) + zp, qmin, qmax) − zp)·s
//   loss = rec + lambda * r.round_loss(beta_at(t, T, 0.2, 20, 2));   // from t ≥ 0.2·T
//   at::Tensor hard = r.hard_weight();           // h replaced by [α ≥ 0]: on the grid
//
// h(α) = clamp(σ(α)·(ζ − γ) + γ, 0, 1) with ζ = 1.1, γ = −0.1 (the rectified sigmoid); α starts at
// −log((ζ − γ)/(rest − γ) − 1) so that h(α) equals rest = W/s − ⌊W/s⌋ (the float weight exactly).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "quant/qscheme.h"

namespace qsweep::quant::reconstruct {

inline constexpr double kZeta = 1.1;
inline constexpr double kGamma = -0.1;

// h(α), differentiable in α.
at::Tensor rectified_sigmoid(const at::Tensor& alpha);
// The α whose h is `rest` (rest in [0, 1)).
at::Tensor alpha_for_rest(const at::Tensor& rest);

class LearnedRounding {
 public:
  // qp: the weight quantizer's calibrated qparams ([C] along ch_axis, or [1] with ch_axis < 0).
  LearnedRounding(const at::Tensor& weight, const QParams& qp, QRange range, int64_t ch_axis);

  at::Tensor& alpha() { return alpha_; }  // the trained leaf (requires grad)
  const at::Tensor& alpha() const { return alpha_; }
  at::Tensor soft_weight() const;  // autograd flows to alpha
  at::Tensor hard_weight() const;  // no grad
  // Σ (1 − |2h(α) − 1|^β) over all elements, written as MQBench does: (1 − (|h − .5|·2)^β).sum().
  at::Tensor round_loss(double beta) const;

 private:
  at::Tensor compose(const at::Tensor& h) const;
  at::Tensor floor_;  // ⌊W/s⌋, fixed: the weight itself is never trained
  at::Tensor scale_, zero_point_;  // broadcast along the channel axis, float32
  QRange range_;
  int64_t ch_axis_;
  at::Tensor alpha_;
};

// MQBench's LinearTempDecay for iteration t (counted from 1): b_start while t < warm_up·T, then
// linear to b_end at t = T.
double beta_at(int64_t t, int64_t iterations, double warm_up, double b_start, double b_end);
// The rounding loss counts from t ≥ warm_up·T (t counted from 1).
bool round_loss_active(int64_t t, int64_t iterations, double warm_up);

}  // namespace qsweep::quant::reconstruct
