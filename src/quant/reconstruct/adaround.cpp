// Same float32 operation order as adaround_forward: x = ⌊W/s⌋; x += h; x += zp; clamp; (x − zp)·s.
#include "quant/reconstruct/adaround.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "quant/cuda/device_ops.h"

namespace qsweep::quant::reconstruct {

at::Tensor rectified_sigmoid(const at::Tensor& alpha) {
  return at::clamp(at::sigmoid(alpha) * (kZeta - kGamma) + kGamma, 0.0, 1.0);
}

at::Tensor alpha_for_rest(const at::Tensor& rest) { return -at::log((kZeta - kGamma) / (rest - kGamma) - 1.0); }

LearnedRounding::LearnedRounding(const at::Tensor& weight, const QParams& qp, QRange range, int64_t ch_axis)
    : range_(range), ch_axis_(ch_axis) {
  at::NoGradGuard no_grad;
  const auto w = weight.detach().to(at::kFloat);
  std::vector<int64_t> shape(w.dim(), 1);
  if (ch_axis >= 0) {
    if (ch_axis >= w.dim() || w.size(ch_axis) != qp.scale.numel()) {
      throw QuantError(fmt::format("AdaRound: {} scales for a weight of shape {} along axis {}", qp.scale.numel(),
                                   c10::str(w.sizes()), ch_axis));
    }
    shape[ch_axis] = w.size(ch_axis);
  } else if (qp.scale.numel() != 1) {
    throw QuantError(fmt::format("AdaRound: per-tensor weight quantizer with {} scales", qp.scale.numel()));
  }
  scale_ = qp.scale.to(w.device(), at::kFloat).reshape(shape);
  zero_point_ = qp.zero_point.to(w.device(), at::kLong).reshape(shape).to(at::kFloat);
  const auto v = w / scale_;
  floor_ = at::floor(v);
  alpha_ = alpha_for_rest(v - floor_).requires_grad_(true);
}

at::Tensor LearnedRounding::compose(const at::Tensor& h) const {
  const auto q = at::clamp(floor_ + h + zero_point_, static_cast<double>(range_.qmin), static_cast<double>(range_.qmax));
  return (q - zero_point_) * scale_;
}

// On a GPU the whole soft weight, value and gradient, is one fused kernel each (quant/cuda).
at::Tensor LearnedRounding::soft_weight() const {
  if (alpha_.is_cuda() && cuda::kernels_built() && alpha_.is_contiguous() && floor_.is_contiguous()) {
    return cuda::adaround_soft_weight(floor_, alpha_, scale_, zero_point_, range_, ch_axis_);
  }
  return compose(rectified_sigmoid(alpha_));
}

at::Tensor LearnedRounding::hard_weight() const {
  at::NoGradGuard no_grad;
  return compose(alpha_.ge(0).to(at::kFloat));
}

at::Tensor LearnedRounding::round_loss(double beta) const {
  const auto h = rectified_sigmoid(alpha_);
  return (1.0 - ((h - 0.5).abs() * 2.0).pow(beta)).sum();
}

double beta_at(int64_t t, int64_t iterations, double warm_up, double b_start, double b_end) {
  const double start = warm_up * static_cast<double>(iterations);
  const double td = static_cast<double>(t);
  if (td < start) return b_start;
  if (t > iterations) return b_end;
  const double rel = (td - start) / (static_cast<double>(iterations) - start);
  return b_end + (b_start - b_end) * std::max(0.0, 1.0 - rel);
}

bool round_loss_active(int64_t t, int64_t iterations, double warm_up) {
  return !(static_cast<double>(t) < static_cast<double>(iterations) * warm_up);
}

}  // namespace qsweep::quant::reconstruct
