// The Lp range search's candidate scores on the GPU (kernels.h): the CUDA form of
// observers/mse_search.cpp's blocked pass. A block holds a tile of 4096 values in registers (16 a
// thread) and scores every candidate of its row on it before loading the next, so x is read once
// whatever the number of candidates; sums are per warp in shared double accumulators (fixed
// order, no atomics: the same bits on every run).
#include <cuda_runtime.h>

#include "quant/cuda/fq_device.cuh"
#include "quant/cuda/kernels.h"

namespace qsweep::quant::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kPerThread = 16;
constexpr int64_t kTile = kThreads * kPerThread;
constexpr int kMaxSteps = 128;   // mse_search.h: 95 per tensor, 80 per channel
constexpr int kTargetBlocks = 1056;  // 8 per SM of an H100 (132 SMs): enough to fill any current GPU

__device__ __forceinline__ float lp_term(float e, float p, bool squares) {
  if (squares) return __fmul_rn(e, e);
  const float a = fabsf(e);
  return a == 0.0f ? 0.0f : exp2f(__fmul_rn(p, log2f(a)));
}

__global__ void __launch_bounds__(kThreads) lp_partials(const float* __restrict__ x, int64_t cols,
                                                        const float4* __restrict__ cands, int steps, float p,
                                                        bool squares, double* __restrict__ partial, int blocks) {
  __shared__ double acc[kWarps][kMaxSteps];
  __shared__ float4 cs[kMaxSteps];
  const int r = blockIdx.x, b = blockIdx.y, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int s = threadIdx.x; s < steps; s += kThreads) {
    cs[s] = cands[static_cast<int64_t>(r) * steps + s];
    for (int w = 0; w < kWarps; ++w) acc[w][s] = 0.0;
  }
  __syncthreads();
  const float* row = x + static_cast<int64_t>(r) * cols;
  const int64_t tiles = (cols + kTile - 1) / kTile;
  const int64_t per_block = (tiles + blocks - 1) / blocks * kTile;
  const int64_t begin = b * per_block;
  const int64_t end = begin + per_block < cols ? begin + per_block : cols;
  for (int64_t t0 = begin; t0 < end; t0 += kTile) {
    float v[kPerThread];
#pragma unroll
    for (int j = 0; j < kPerThread; ++j) {
      const int64_t i = t0 + j * kThreads + threadIdx.x;
      v[j] = i < end ? row[i] : 0.0f;  // a zero scores 0 under every candidate (0 ∈ [lo, hi])
    }
    for (int s = 0; s < steps; ++s) {
      const float4 c = cs[s];
      float sum = 0.0f;
#pragma unroll
      for (int j = 0; j < kPerThread; ++j) {
        const float e = __fsub_rn(fq_value(v[j], c.x, c.y, c.z, c.w), v[j]);
        sum = __fadd_rn(sum, lp_term(e, p, squares));
      }
#pragma unroll
      for (int offset = 16; offset > 0; offset /= 2) sum = __fadd_rn(sum, __shfl_down_sync(0xffffffffu, sum, offset));
      if (lane == 0) acc[warp][s] += static_cast<double>(sum);
    }
  }
  __syncthreads();
  for (int s = threadIdx.x; s < steps; s += kThreads) {
    double total = 0.0;
    for (int w = 0; w < kWarps; ++w) total += acc[w][s];
    partial[(static_cast<int64_t>(r) * blocks + b) * steps + s] = total;
  }
}

}  // namespace

int lp_error_blocks(int64_t rows, int64_t cols) {
  const int64_t tiles = (cols + kTile - 1) / kTile;
  int64_t want = (kTargetBlocks + rows - 1) / (rows > 0 ? rows : 1);
  if (want > tiles) want = tiles;
  return static_cast<int>(want > 0 ? want : 1);
}

int launch_lp_error_partials(const float* x, int64_t rows, int64_t cols, const float* cands, int steps, float p,
                             double* partial, int blocks, void* stream) {
  if (steps < 1 || steps > kMaxSteps || rows < 1 || rows > 0x7fffffff || blocks < 1 || blocks > 65535) {
    return static_cast<int>(cudaErrorInvalidValue);
  }
  const dim3 grid(static_cast<unsigned>(rows), static_cast<unsigned>(blocks));  // rows on x: no 65535 limit
  lp_partials<<<grid, kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      x, cols, reinterpret_cast<const float4*>(cands), steps, p, p == 2.0f, partial, blocks);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace qsweep::quant::cuda
