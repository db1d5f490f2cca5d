// Fake quantization (quantize then dequantize) as pure functions; FakeQuant modules that own
// observers and switches are built on these.
//
//   QParams qp = compute_qparams(min, max, scheme);
//   at::Tensor y = fake_quantize(x, qp, scheme.range(), scheme.axis());
//
// fake_quantize is SPEC §1.3: q = nearbyint(x · float32(1/scale)) + zp, clamp to [qmin, qmax],
// y = (q − zp) · scale, round-half-to-even, straight-through gradient inside the range. It is
// bit-identical to ATen's fake_quantize_per_{tensor,channel}_affine (tests/quant check this) and
// several times faster on CPU: one fused pass instead of ATen 1.13's slow kernel (bench/).
#pragma once

#include <ATen/core/Tensor.h>

#include "quant/qscheme.h"

namespace qsweep::quant {

// Per-tensor when ch_axis < 0 (qparams must then hold one element), else per-channel along ch_axis.
at::Tensor fake_quantize(const at::Tensor& x, const QParams& qp, QRange range, int64_t ch_axis);
at::Tensor fake_quantize(const at::Tensor& x, ScalarQParams qp, QRange range);

// Writes fake_quantize(x) into out (same shape, float32 CPU contiguous): no allocation, no grad.
void fake_quantize_into(const at::Tensor& x, ScalarQParams qp, QRange range, at::Tensor& out);

// The dividing variant of the learnable quantizer (SPEC §1.4, QDrop/BRECQ):
// y = (clamp(round_ste(x / scale) + zp, qmin, qmax) − zp) · scale, with autograd to x and scale.
// scale is float32 [1] or [C] (may require grad); zero_point any numeric dtype, same shape.
at::Tensor fake_quantize_learnable(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& zero_point,
                                   QRange range, int64_t ch_axis);

// ATen's builtin kernels, for parity tests and benchmarks only.
at::Tensor fake_quantize_aten(const at::Tensor& x, const QParams& qp, QRange range, int64_t ch_axis);

}  // namespace qsweep::quant
