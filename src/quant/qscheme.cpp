// SPEC §1.1–1.2: integer ranges and the (min, max) → (scale, zero point) map. The scalar routine
// is the single implementation; the tensor form applies it per channel, so both agree bit for bit.
#include "quant/qscheme.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>
#include <limits>

namespace qsweep::quant {

QRange QRange::from(int bits, bool is_signed, bool symmetric_range) {
  if (bits < kMinBits || bits > kMaxBits) {
    throw QuantError(fmt::format("bits must be in [{}, {}], got {}", kMinBits, kMaxBits, bits));
  }
  const int64_t levels = int64_t{1} << bits;
  if (!is_signed) return {0, levels - 1};
  const int64_t half = levels / 2;
  return {symmetric_range ? -half + 1 : -half, half - 1};
}

void QScheme::validate() const {
  (void)range();  // checks bits
  if (per_channel && ch_axis < 0) {
    throw QuantError(fmt::format("ch_axis must be >= 0 for per-channel quantization, got {}", ch_axis));
  }
}

std::string QScheme::str() const {
  const QRange r = range();
  return fmt::format("{}-bit {} {}{} [{}, {}]{}", bits, symmetric ? "sym" : "asym",
                     per_channel ? "per-channel" : "per-tensor",
                     per_channel ? fmt::format("({})", ch_axis) : std::string(), r.qmin, r.qmax,
                     pot_scale ? " pot" : "");
}

ScalarQParams compute_qparams(float min_val, float max_val, const QScheme& scheme) {
  const QRange r = scheme.range();
  constexpr float kInf = std::numeric_limits<float>::infinity();
  if (min_val == kInf && max_val == -kInf) return {};  // never observed: scale 1, zero point 0
  if (!std::isfinite(min_val) || !std::isfinite(max_val)) {
    throw QuantError(fmt::format("range [{}, {}] is not finite", min_val, max_val));
  }
  if (min_val > max_val) {
    throw QuantError(fmt::format("min {} > max {}: an observed range needs min <= max", min_val, max_val));
  }
  constexpr float kEps = std::numeric_limits<float>::epsilon();  // 2^-23, as torch's observers
  const float min_neg = std::min(min_val, 0.0f);
  const float max_pos = std::max(max_val, 0.0f);
  ScalarQParams q;
  if (scheme.symmetric) {
    const float amax = std::max(-min_neg, max_pos);
    // Divisor (qmax − qmin)/2, e.g. 127.5 for [−128, 127]: the top half step is lost (SPEC §9.4).
    q.scale = std::max(amax / static_cast<float>((r.qmax - r.qmin) / 2.0), kEps);
    q.zero_point = 0;
  } else {
    q.scale = std::max((max_pos - min_neg) / static_cast<float>(r.qmax - r.qmin), kEps);
    // std::nearbyint in the default FP environment rounds half to even, as torch.round.
    const int64_t zp = r.qmin - static_cast<int64_t>(std::nearbyint(min_neg / q.scale));
    q.zero_point = static_cast<int32_t>(std::clamp(zp, r.qmin, r.qmax));
  }
  if (scheme.pot_scale) q.scale = std::exp2(std::nearbyint(std::log2(q.scale)));
  return q;
}

QParams compute_qparams(const at::Tensor& min_val, const at::Tensor& max_val, const QScheme& scheme) {
  if (!min_val.defined() || !max_val.defined()) throw QuantError("compute_qparams: undefined min/max tensor");
  if (min_val.numel() != max_val.numel() || min_val.numel() == 0) {
    throw QuantError(fmt::format("compute_qparams: min has {} elements, max has {}; expected the same non-zero count",
                                 min_val.numel(), max_val.numel()));
  }
  const auto mins = min_val.detach().to(at::kCPU, at::kFloat).contiguous().reshape({-1});
  const auto maxs = max_val.detach().to(at::kCPU, at::kFloat).contiguous().reshape({-1});
  const int64_t n = mins.numel();
  QParams out{at::empty({n}, at::kFloat), at::empty({n}, at::kInt)};
  const float* lo = mins.data_ptr<float>();
  const float* hi = maxs.data_ptr<float>();
  float* scale = out.scale.data_ptr<float>();
  int32_t* zp = out.zero_point.data_ptr<int32_t>();
  for (int64_t c = 0; c < n; ++c) {
    ScalarQParams q;
    try {
      q = compute_qparams(lo[c], hi[c], scheme);
    } catch (const QuantError& e) {
      throw QuantError(n == 1 ? std::string(e.what()) : fmt::format("channel {}: {}", c, e.what()));
    }
    scale[c] = q.scale;
    zp[c] = q.zero_point;
  }
  return out;
}

}  // namespace qsweep::quant
