// The Lp range search shared by MSEObserver and EMAMSEObserver (SPEC §2):
// candidates (f·min, f·max) with f = 1 − 0.01·i, i < steps (95 per-tensor, 80 per-channel);
// score = mean(|fq(x) − x|^p); the first candidate with the smallest score wins (strict <).
//
// mse_search gives exactly the choice of that per-candidate loop without its cost: one blocked
// pass scores every candidate while a chunk of x sits in L1 (no allocation, double sums), then
// only the candidates within 1e-4 of the best are re-scored by the reference loop's own float32
// arithmetic (mse_search_reference) to break near-ties exactly as MQBench would.
#pragma once

#include <ATen/core/Tensor.h>

#include "quant/qscheme.h"

namespace qsweep::support {
class Collective;
}

namespace qsweep::quant {

inline constexpr int kMseStepsPerTensor = 95;
inline constexpr int kMseStepsPerChannel = 80;

struct RangeChoice {
  float min_val = 0;
  float max_val = 0;
  int step = 0;  // chosen i: factor 1 − 0.01·i
};

// x: contiguous float32 CPU tensor (any shape), treated per-tensor with `scheme`'s range.
RangeChoice mse_search(const at::Tensor& x, float xmin, float xmax, int steps, double p, const QScheme& scheme);
// MQBench's loop, literally: ATen fake-quant and mean per candidate. The test oracle.
RangeChoice mse_search_reference(const at::Tensor& x, float xmin, float xmax, int steps, double p,
                                 const QScheme& scheme);

// The search of one batch split across `group` (x: this rank's part; per-tensor): every rank
// gets the candidate chosen on the errors summed over all parts.
RangeChoice mse_search_grouped(const at::Tensor& x, float xmin, float xmax, int steps, double p,
                               const QScheme& scheme, const support::Collective& group);

// Per-tensor (0-dim results) or per-channel ([C] results) search of one batch, as the observers
// use it; with a group of more than one rank, of the whole batch whose part x is.
std::pair<at::Tensor, at::Tensor> mse_search_batch(const at::Tensor& x, double p, const QScheme& scheme,
                                                   const support::Collective* group = nullptr);

}  // namespace qsweep::quant
