#include "quant/reconstruct/drop.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cmath>

namespace qsweep::quant::reconstruct {
namespace {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

at::Tensor DropMasks::keep_mask(at::IntArrayRef sizes, double keep, int64_t first_sample) {
  auto mask = at::empty(sizes, at::TensorOptions().dtype(at::kBool));
  const int64_t per_sample = sizes.empty() || sizes[0] == 0 ? 0 : mask.numel() / sizes[0];
  const auto offset = static_cast<uint64_t>(first_sample * per_sample);
  const uint64_t key = splitmix64(seed_ ^ splitmix64(++calls_));
  const auto threshold = static_cast<uint64_t>(std::ldexp(keep, 24));  // u = h >> 40 ∈ [0, 2^24)
  bool* out = mask.data_ptr<bool>();
  at::parallel_for(0, mask.numel(), 1 << 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[i] = (splitmix64(key + offset + static_cast<uint64_t>(i)) >> 40) < threshold;
  });
  return mask;
}

}  // namespace qsweep::quant::reconstruct
