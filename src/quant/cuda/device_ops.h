// The fused CUDA kernels at the tensor level, for the quantization core's GPU paths. Every
// function takes and returns CUDA tensors and is bit-identical to the CPU path where kernels.h says
// so; callers check kernels_built() (false in builds without CUDA, where the others throw).
//
//   if (x.is_cuda() && quant::cuda::kernels_built()) return quant::cuda::fake_quantize(x, qp, range);
#pragma once

#include <ATen/core/Tensor.h>

#include "quant/qscheme.h"

namespace qsweep::quant::cuda {

// Whether this qsweep was built with a CUDA LibTorch (the kernels exist), whatever the GPUs.
bool kernels_built();

// fake_quantize of quant/fake_quant.h for a float32 contiguous CUDA tensor, no gradient.
at::Tensor fake_quantize(const at::Tensor& x, ScalarQParams qp, QRange range);
// Per channel along ch_axis; scale/zero_point hold one value per channel (any device).
at::Tensor fake_quantize(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& zero_point, QRange range,
                         int64_t ch_axis);

// Σ|fq(row) − row|^p of every candidate of every row: rows [R, K] float32 CUDA, cands [R, S, 4]
// (inv, scale, lo, hi per candidate). Returns [R, S] float64 on the CPU, summed in a fixed order.
at::Tensor lp_error_scores(const at::Tensor& rows, const at::Tensor& cands, double p);

// AdaRound's soft weight with autograd to alpha (the trained leaf): the value and gradient of
// (clamp(floor + h(alpha) + zp, qmin, qmax) − zp)·scale in one kernel each. floor and alpha share
// a shape; scale/zero_point hold one value per channel along ch_axis (or one, ch_axis < 0).
at::Tensor adaround_soft_weight(const at::Tensor& floor_w, const at::Tensor& alpha, const at::Tensor& scale,
                                const at::Tensor& zero_point, QRange range, int64_t ch_axis);

}  // namespace qsweep::quant::cuda
