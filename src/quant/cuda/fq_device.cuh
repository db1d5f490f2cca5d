// The one fake-quant formula every CUDA kernel uses (kernels.h): the CPU path's operations in its
// order, with intrinsics nvcc never fuses into an FMA.
#pragma once

namespace qsweep::quant::cuda {

// (clamp(x·inv, lo, hi) rounded half to even)·scale. The comparisons are the CPU's (a NaN passes
// through both); clamping before rounding equals ATen's round-then-clamp because lo and hi are
// integers. Adding +0 turns rintf's −0 into +0, as the CPU's 1.5·2^23 rounding and ATen's integer
// arithmetic give, so even the sign of a zero matches.
__device__ __forceinline__ float fq_round(float x, float inv, float lo, float hi) {
  float v = __fmul_rn(x, inv);
  v = v < lo ? lo : v;
  v = v > hi ? hi : v;
  return __fadd_rn(rintf(v), 0.0f);
}

__device__ __forceinline__ float fq_value(float x, float inv, float scale, float lo, float hi) {
  return __fmul_rn(fq_round(x, inv, lo, hi), scale);
}

}  // namespace qsweep::quant::cuda
