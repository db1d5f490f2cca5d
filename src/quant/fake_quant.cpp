// SPEC §1.3–1.4. The CPU fast path fuses multiply, clamp, round and rescale into one pass. It
// clamps before rounding, which equals ATen's round-then-clamp because the bounds qmin−zp and
// qmax−zp are integers; rounding adds and subtracts 1.5·2^23, which rounds half to even for
// |v| < 2^22 in the default FP environment (the clamp keeps |v| ≤ 2^9). -ffp-contract=off (set
// in CMakeLists.txt) keeps the compiler from fusing those steps into FMAs.
#include "quant/fake_quant.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include "quant/cuda/device_ops.h"

namespace qsweep::quant {
namespace {

constexpr float kRoundMagic = 12582912.0f;  // 1.5 · 2^23
constexpr int64_t kGrain = 1 << 15;

__attribute__((target_clones("avx2", "default"))) void fq_span(const float* __restrict in, float* __restrict out,
                                                                  int64_t n, float inv, float scale, float lo,
                                                                  float hi) {
  for (int64_t i = 0; i < n; ++i) {
    float v = in[i] * inv;
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    v = (v + kRoundMagic) - kRoundMagic;
    out[i] = v * scale;
  }
}

// The dividing quantizer's value (SPEC §1.4) in one pass: x / s, then as fq_span. Equal to the
// composite round(x/s) + zp, clamp, − zp, · s for the same reason clamp-before-round is.
__attribute__((target_clones("avx2", "default"))) void fq_div_span(const float* __restrict in, float* __restrict out,
                                                                      int64_t n, float scale, float lo, float hi) {
  for (int64_t i = 0; i < n; ++i) {
    float v = in[i] / scale;
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    v = (v + kRoundMagic) - kRoundMagic;
    out[i] = v * scale;
  }
}

struct Bounds {
  float inv, scale, lo, hi;
};

Bounds bounds_of(ScalarQParams qp, QRange r) {
  return {1.0f / qp.scale, qp.scale, static_cast<float>(r.qmin - qp.zero_point),
          static_cast<float>(r.qmax - qp.zero_point)};
}

bool fast_path_ok(const at::Tensor& x) {
  return x.device().is_cpu() && x.scalar_type() == at::kFloat && x.is_contiguous() &&
         !(x.requires_grad() && at::GradMode::is_enabled());
}

// The fused CUDA kernels serve what the CPU fast path serves: float32, contiguous, no gradient.
bool cuda_fast_path_ok(const at::Tensor& x) {
  return x.is_cuda() && cuda::kernels_built() && x.scalar_type() == at::kFloat && x.is_contiguous() &&
         !(x.requires_grad() && at::GradMode::is_enabled());
}

void check_input(const at::Tensor& x) {
  if (!x.defined()) throw QuantError("fake_quantize: undefined tensor");
  if (!x.is_floating_point()) {
    throw QuantError(fmt::format("fake_quantize: expected a floating-point tensor, got {}", c10::toString(x.scalar_type())));
  }
}

// Composite ATen path (any device, any float dtype, autograd): value as SPEC §1.3 plus an STE term
// whose value is exactly zero and whose gradient is 1 where nearbyint(x·inv)+zp lies in range.
at::Tensor fq_composite(const at::Tensor& x, const at::Tensor& inv, const at::Tensor& scale, const at::Tensor& lo,
                        const at::Tensor& hi) {
  const auto xd = x.detach();
  auto r = at::round(xd * inv);
  auto y = at::minimum(at::maximum(r, lo), hi) * scale;
  if (!(x.requires_grad() && at::GradMode::is_enabled())) return y;
  auto mask = at::logical_and(r >= lo, r <= hi).to(x.scalar_type());
  return y + (x - xd) * mask;
}

std::vector<int64_t> broadcast_shape(const at::Tensor& x, int64_t ch_axis) {
  std::vector<int64_t> shape(x.dim(), 1);
  shape[ch_axis] = x.size(ch_axis);
  return shape;
}

}  // namespace

at::Tensor fake_quantize(const at::Tensor& x, ScalarQParams qp, QRange range) {
  check_input(x);
  const Bounds b = bounds_of(qp, range);
  if (cuda_fast_path_ok(x)) return cuda::fake_quantize(x, qp, range);
  if (fast_path_ok(x)) {
    auto out = at::empty_like(x);
    fake_quantize_into(x, qp, range, out);
    return out;
  }
  auto opts = x.options().dtype(at::kFloat).requires_grad(false);
  auto t = [&](float v) { return at::scalar_tensor(v, opts); };
  return fq_composite(x, t(b.inv), t(b.scale), t(b.lo), t(b.hi)).to(x.scalar_type());
}

void fake_quantize_into(const at::Tensor& x, ScalarQParams qp, QRange range, at::Tensor& out) {
  if (!fast_path_ok(x) || !out.is_contiguous() || out.scalar_type() != at::kFloat || out.sizes() != x.sizes()) {
    throw QuantError("fake_quantize_into: needs float32 contiguous CPU tensors of equal shape, no grad");
  }
  const Bounds b = bounds_of(qp, range);
  const float* in = x.data_ptr<float>();
  float* o = out.data_ptr<float>();
  at::parallel_for(0, x.numel(), kGrain, [&](int64_t begin, int64_t end) {
    fq_span(in + begin, o + begin, end - begin, b.inv, b.scale, b.lo, b.hi);
  });
}

at::Tensor fake_quantize(const at::Tensor& x, const QParams& qp, QRange range, int64_t ch_axis) {
  check_input(x);
  const auto scale = qp.scale.to(at::kCPU, at::kFloat).reshape({-1});
  const auto zp = qp.zero_point.to(at::kCPU, at::kInt).reshape({-1});
  if (ch_axis < 0) {
    if (scale.numel() != 1 || zp.numel() != 1) {
      throw QuantError(fmt::format("fake_quantize: per-tensor needs one scale, got {}", scale.numel()));
    }
    return fake_quantize(x, ScalarQParams{scale.item<float>(), zp.item<int32_t>()}, range);
  }
  if (ch_axis >= x.dim() || x.size(ch_axis) != scale.numel() || zp.numel() != scale.numel()) {
    throw QuantError(fmt::format("fake_quantize: axis {} of a {}-d tensor {} does not match {} scales / {} zero points",
                                 ch_axis, x.dim(), c10::str(x.sizes()), scale.numel(), zp.numel()));
  }
  const int64_t channels = scale.numel();
  if (ch_axis == 0 && fast_path_ok(x)) {
    auto out = at::empty_like(x);
    const int64_t inner = channels ? x.numel() / channels : 0;
    const float* s = scale.data_ptr<float>();
    const int32_t* z = zp.data_ptr<int32_t>();
    const float* in = x.data_ptr<float>();
    float* o = out.data_ptr<float>();
    at::parallel_for(0, channels, std::max<int64_t>(1, kGrain / std::max<int64_t>(inner, 1)), [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const Bounds b = bounds_of({s[c], z[c]}, range);
        fq_span(in + c * inner, o + c * inner, inner, b.inv, b.scale, b.lo, b.hi);
      }
    });
    return out;
  }
  if (cuda_fast_path_ok(x)) return cuda::fake_quantize(x, scale, zp, range, ch_axis);
  const auto shape = broadcast_shape(x, ch_axis);
  const auto opts = x.options().dtype(at::kFloat).requires_grad(false);
  const auto s = scale.to(opts).reshape(shape);
  const auto zf = zp.to(opts).reshape(shape);
  const auto inv = at::reciprocal(s);
  return fq_composite(x, inv, s, static_cast<double>(range.qmin) - zf, static_cast<double>(range.qmax) - zf)
      .to(x.scalar_type());
}

at::Tensor fake_quantize_learnable(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& zero_point,
                                   QRange range, int64_t ch_axis) {
  check_input(x);
  at::Tensor s = scale, zp = zero_point.to(scale.options().requires_grad(false));
  if (ch_axis >= 0) {
    const auto shape = broadcast_shape(x, ch_axis);
    s = s.reshape(shape);
    zp = zp.reshape(shape);
  } else if (scale.numel() != 1) {
    throw QuantError(fmt::format("fake_quantize_learnable: per-tensor needs one scale, got {}", scale.numel()));
  } else if (fast_path_ok(x) && scale.device().is_cpu() && !(scale.requires_grad() && at::GradMode::is_enabled())) {
    // Evaluation and caching with a learned scale: fused, no autograd wanted.
    const float sc = scale.to(at::kFloat).item<float>();
    const auto z = static_cast<float>(zero_point.to(at::kCPU, at::kFloat).item<float>());
    const float lo = static_cast<float>(range.qmin) - z, hi = static_cast<float>(range.qmax) - z;
    auto out = at::empty_like(x);
    const float* in = x.data_ptr<float>();
    float* o = out.data_ptr<float>();
    at::parallel_for(0, x.numel(), kGrain, [&](int64_t begin, int64_t end) {
      fq_div_span(in + begin, o + begin, end - begin, sc, lo, hi);
    });
    return out;
  }
  const auto v = x / s;
  const auto rounded = v + (at::round(v) - v).detach();  // round with a straight-through gradient
  const auto q = at::clamp(rounded + zp, static_cast<double>(range.qmin), static_cast<double>(range.qmax));
  return (q - zp) * s;
}

at::Tensor fake_quantize_aten(const at::Tensor& x, const QParams& qp, QRange range, int64_t ch_axis) {
  if (ch_axis < 0) {
    return at::fake_quantize_per_tensor_affine(x, qp.scale.item<float>(), qp.zero_point.item<int64_t>(), range.qmin,
                                               range.qmax);
  }
  return at::fake_quantize_per_channel_affine(x, qp.scale.to(x.device()), qp.zero_point.to(x.device()), ch_axis,
                                              range.qmin, range.qmax);
}

}  // namespace qsweep::quant
