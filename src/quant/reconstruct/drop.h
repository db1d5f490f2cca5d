// QDrop's element-wise drop (SPEC §1.4, §5.4): keep the quantized value with probability `keep`,
// else the full-precision one — y = where(u < keep, quantized, fp), u uniform per element.
//
//   DropMasks masks(seed);
//   at::Tensor y = at::where(masks.keep_mask(x.sizes(), 0.5), quantized, x);
//
// The uniforms come from a counter-based hash (splitmix64 of seed, call and element index) rather
// than ATen's mt19937 stream: 24-bit uniforms, deterministic for a seed whatever the thread count,
// and several times cheaper than at::rand on CPU, where the masks were a third of QDrop's step.
// MQBench's torch.rand_like stream is not reproducible across implementations anyway.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace qsweep::quant::reconstruct {

class DropMasks {
 public:
  explicit DropMasks(uint64_t seed) : seed_(seed) {}
  // Bool CPU tensor of `sizes`: true with probability `keep` (in steps of 2^−24), independently per
  // element and per call. `first_sample`: the samples of `sizes` are samples first_sample, … of the
  // step's whole batch (a task group's part): each element's draw is the one it has in the whole
  // batch's mask, so the masks do not depend on how the batch is split.
  at::Tensor keep_mask(at::IntArrayRef sizes, double keep, int64_t first_sample = 0);

 private:
  uint64_t seed_;
  uint64_t calls_ = 0;
};

}  // namespace qsweep::quant::reconstruct
