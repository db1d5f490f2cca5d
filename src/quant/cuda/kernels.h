// The fused CUDA kernels of the quantization core, as plain launchers over raw device pointers
// (no LibTorch, no CUDA headers here: quant/cuda/device_ops.h is the tensor-level face). Built only
// with a CUDA LibTorch (QSWEEP_WITH_CUDA); each launcher enqueues on `stream` (a cudaStream_t) and
// returns the cudaError_t of the launch (0: enqueued).
//
// Rounding is the CPU path's, operation for operation (quant/fake_quant.cpp): v = x·inv with
// __fmul_rn, clamp to [lo, hi] = [qmin − zp, qmax − zp] with the same comparisons (NaN passes
// through as on the CPU), rintf (round half to even), y = v·scale. No FMA anywhere, so every
// fake-quantized value is bit-identical to the CPU path and to ATen's kernels.
#pragma once

#include <cstdint>

namespace qsweep::quant::cuda {

// y[i] = fq(x[i]) with one (inv, scale, lo, hi) for the whole tensor: one read, one write.
int launch_fake_quant_per_tensor(const float* x, float* y, int64_t n, float inv, float scale, float lo, float hi,
                                 void* stream);

// Per channel: element i belongs to channel (i / inner) % channels; the four arrays hold one
// value per channel (device memory).
int launch_fake_quant_per_channel(const float* x, float* y, int64_t n, int64_t inner, int64_t channels,
                                  const float* inv, const float* scale, const float* lo, const float* hi, void* stream);

// The Lp range search's scores: for every row r of x ([rows, cols], contiguous) and every
// candidate s of that row (cands: [rows, steps, 4] = inv, scale, lo, hi), the sum over the row of
// |fq(x) − x|^p. Each block scores every candidate on the values it holds in registers (one pass
// over x per block, per-warp sums in double, no atomics), writing partial[(r·blocks + b)·steps + s];
// the caller sums the `blocks` partials of a row in order. p == 2 squares; other p use
// exp2(p·log2|e|) with 0 ↦ 0.
int launch_lp_error_partials(const float* x, int64_t rows, int64_t cols, const float* cands, int steps, float p,
                             double* partial, int blocks, void* stream);
// How many partial blocks launch_lp_error_partials uses for rows of `cols` values.
int lp_error_blocks(int64_t rows, int64_t cols);

// AdaRound's soft weight (SPEC §5.3) and its gradient in one pass each, per channel as above:
//   h = clamp(σ(α)·span + γ, 0, 1),  q = clamp(⌊W/s⌋ + h + zp, qmin, qmax),  w = (q − zp)·s
//   dα = dw · s · [qmin ≤ ⌊W/s⌋ + h + zp ≤ qmax] · [0 ≤ σ·span + γ ≤ 1] · span · σ(1 − σ)
// with span = float(ζ − γ) (the double difference, rounded once, as ATen rounds a scalar operand)
// in ATen's operation order (the clamp and sigmoid backward formulas of its autograd).
int launch_adaround_forward(const float* floor_w, const float* alpha, int64_t n, int64_t inner, int64_t channels,
                            const float* scale, const float* zero_point, float qmin, float qmax, float span,
                            float gamma, float* w, void* stream);
int launch_adaround_backward(const float* floor_w, const float* alpha, const float* grad_w, int64_t n, int64_t inner,
                             int64_t channels, const float* scale, const float* zero_point, float qmin, float qmax,
                             float span, float gamma, float* grad_alpha, void* stream);

}  // namespace qsweep::quant::cuda
