// AdaRound's soft weight and its gradient to α (kernels.h), one pass each: ATen's composite of
// sigmoid, mul, add, clamp, add, clamp, sub, mul (quant/reconstruct/adaround.cpp) reads and writes
// the weight-sized tensors eight times forward and as often backward.
#include <cuda_runtime.h>

#include "quant/cuda/kernels.h"

namespace qsweep::quant::cuda {
namespace {

constexpr int kThreads = 256;

int grid_for(int64_t n) {
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<int>(blocks < 8192 ? (blocks > 0 ? blocks : 1) : 8192);
}

// ATen's sigmoid on CUDA: 1 / (1 + exp(−a)).
__device__ __forceinline__ float sigmoid(float a) { return __fdiv_rn(1.0f, __fadd_rn(1.0f, expf(-a))); }

struct Soft {
  float sig, h_pre, h, q_pre;
};

// h and the pre-clamp values, in adaround.cpp's order: σ·(ζ − γ) + γ, clamp; ⌊W/s⌋ + h + zp.
__device__ __forceinline__ Soft soft(float floor_w, float alpha, float zp, float span, float gamma) {
  Soft s;
  s.sig = sigmoid(alpha);
  s.h_pre = __fadd_rn(__fmul_rn(s.sig, span), gamma);
  s.h = s.h_pre < 0.0f ? 0.0f : (s.h_pre > 1.0f ? 1.0f : s.h_pre);
  s.q_pre = __fadd_rn(__fadd_rn(floor_w, s.h), zp);
  return s;
}

__global__ void forward(const float* __restrict__ floor_w, const float* __restrict__ alpha, int64_t n, int64_t inner,
                        int64_t channels, const float* __restrict__ scale, const float* __restrict__ zero_point,
                        float qmin, float qmax, float span, float gamma, float* __restrict__ w) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += stride) {
    const int64_t c = (i / inner) % channels;
    const Soft s = soft(floor_w[i], alpha[i], zero_point[c], span, gamma);
    const float q = s.q_pre < qmin ? qmin : (s.q_pre > qmax ? qmax : s.q_pre);
    w[i] = __fmul_rn(__fsub_rn(q, zero_point[c]), scale[c]);
  }
}

__global__ void backward(const float* __restrict__ floor_w, const float* __restrict__ alpha,
                         const float* __restrict__ grad_w, int64_t n, int64_t inner, int64_t channels,
                         const float* __restrict__ scale, const float* __restrict__ zero_point, float qmin, float qmax,
                         float span, float gamma, float* __restrict__ grad_alpha) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += stride) {
    const int64_t c = (i / inner) % channels;
    const Soft s = soft(floor_w[i], alpha[i], zero_point[c], span, gamma);
    // ATen's clamp backward passes the gradient where min ≤ input ≤ max, both ends included.
    const bool q_in = s.q_pre >= qmin && s.q_pre <= qmax;
    const bool h_in = s.h_pre >= 0.0f && s.h_pre <= 1.0f;
    float g = __fmul_rn(grad_w[i], scale[c]);
    g = q_in && h_in ? g : 0.0f;
    g = __fmul_rn(g, span);
    grad_alpha[i] = __fmul_rn(__fmul_rn(g, __fsub_rn(1.0f, s.sig)), s.sig);  // sigmoid_backward: g·(1 − y)·y
  }
}

}  // namespace

int launch_adaround_forward(const float* floor_w, const float* alpha, int64_t n, int64_t inner, int64_t channels,
                            const float* scale, const float* zero_point, float qmin, float qmax, float span,
                            float gamma, float* w, void* stream) {
  if (n == 0) return 0;
  forward<<<grid_for(n), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(floor_w, alpha, n, inner, channels, scale,
                                                                             zero_point, qmin, qmax, span, gamma, w);
  return static_cast<int>(cudaGetLastError());
}

int launch_adaround_backward(const float* floor_w, const float* alpha, const float* grad_w, int64_t n, int64_t inner,
                             int64_t channels, const float* scale, const float* zero_point, float qmin, float qmax,
                             float span, float gamma, float* grad_alpha, void* stream) {
  if (n == 0) return 0;
  backward<<<grid_for(n), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      floor_w, alpha, grad_w, n, inner, channels, scale, zero_point, qmin, qmax, span, gamma, grad_alpha);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace qsweep::quant::cuda
