// Per-tensor and per-channel fake quantization (kernels.h): one read and one write per element,
// no mask (these serve the no-gradient paths: calibration, evaluation, cached reconstruction inputs).
#include <cuda_runtime.h>

#include "quant/cuda/kernels.h"
#include "quant/cuda/fq_device.cuh"

namespace qsweep::quant::cuda {
namespace {

constexpr int kThreads = 256;

int grid_for(int64_t n) {
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<int>(blocks < 8192 ? (blocks > 0 ? blocks : 1) : 8192);  // grid-stride beyond
}

__global__ void fq_per_tensor(const float* __restrict__ x, float* __restrict__ y, int64_t n, float inv, float scale,
                              float lo, float hi) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += stride) {
    y[i] = fq_value(x[i], inv, scale, lo, hi);
  }
}

// Four values per thread where the tensor allows it (LibTorch's allocations are 16-byte aligned).
__global__ void fq_per_tensor4(const float4* __restrict__ x, float4* __restrict__ y, int64_t n4, float inv,
                               float scale, float lo, float hi) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n4; i += stride) {
    const float4 v = x[i];
    y[i] = make_float4(fq_value(v.x, inv, scale, lo, hi), fq_value(v.y, inv, scale, lo, hi),
                       fq_value(v.z, inv, scale, lo, hi), fq_value(v.w, inv, scale, lo, hi));
  }
}

__global__ void fq_per_channel(const float* __restrict__ x, float* __restrict__ y, int64_t n, int64_t inner,
                               int64_t channels, const float* __restrict__ inv, const float* __restrict__ scale,
                               const float* __restrict__ lo, const float* __restrict__ hi) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += stride) {
    const int64_t c = (i / inner) % channels;
    y[i] = fq_value(x[i], inv[c], scale[c], lo[c], hi[c]);
  }
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

}  // namespace

int launch_fake_quant_per_tensor(const float* x, float* y, int64_t n, float inv, float scale, float lo, float hi,
                                 void* stream) {
  if (n == 0) return 0;
  auto s = static_cast<cudaStream_t>(stream);
  if (n % 4 == 0 && aligned16(x) && aligned16(y)) {
    fq_per_tensor4<<<grid_for(n / 4), kThreads, 0, s>>>(reinterpret_cast<const float4*>(x),
                                                        reinterpret_cast<float4*>(y), n / 4, inv, scale, lo, hi);
  } else {
    fq_per_tensor<<<grid_for(n), kThreads, 0, s>>>(x, y, n, inv, scale, lo, hi);
  }
  return static_cast<int>(cudaGetLastError());
}

int launch_fake_quant_per_channel(const float* x, float* y, int64_t n, int64_t inner, int64_t channels,
                                  const float* inv, const float* scale, const float* lo, const float* hi, void* stream) {
  if (n == 0) return 0;
  fq_per_channel<<<grid_for(n), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(x, y, n, inner, channels, inv,
                                                                                    scale, lo, hi);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace qsweep::quant::cuda
