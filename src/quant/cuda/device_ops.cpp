// See device_ops.h. The only file that knows whether the kernels exist: in builds without CUDA
// every function but kernels_built() throws, and nothing above it has an #if.
#include "quant/cuda/device_ops.h"

#if QSWEEP_WITH_CUDA
#include <ATen/ATen.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#include <fmt/format.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cstdint>
#include <vector>

#include "quant/cuda/kernels.h"
#include "quant/reconstruct/adaround.h"
#endif

namespace qsweep::quant::cuda {

#if QSWEEP_WITH_CUDA
namespace {

void check_launch(int rc, const char* what) {
  if (rc != 0) {
    throw QuantError(fmt::format("{}: CUDA kernel launch failed: {}", what, cudaGetErrorString(static_cast<cudaError_t>(rc))));
  }
}

void check_input(const at::Tensor& x, const char* what) {
  if (!x.defined() || !x.is_cuda() || x.scalar_type() != at::kFloat || !x.is_contiguous()) {
    throw QuantError(x.defined() ? fmt::format("{}: needs a contiguous float32 CUDA tensor, got a {}{} {} tensor", what,
                                               x.is_contiguous() ? "" : "non-contiguous ", c10::toString(x.scalar_type()),
                                               x.device().str())
                                 : fmt::format("{}: needs a contiguous float32 CUDA tensor, got an undefined one", what));
  }
}

void* stream_of(const at::Tensor& t) { return c10::cuda::getCurrentCUDAStream(t.device().index()).stream(); }

// Elements per channel index step along ch_axis (the product of the sizes after it).
int64_t inner_of(const at::Tensor& x, int64_t ch_axis) {
  int64_t inner = 1;
  for (int64_t d = ch_axis + 1; d < x.dim(); ++d) inner *= x.size(d);
  return inner;
}

// (inv, scale, lo, hi) per channel, [4, C] on x's device, computed on the host exactly as the CPU
// path does: 1/scale in float32, the bounds from integer arithmetic.
at::Tensor channel_bounds(const at::Tensor& scale, const at::Tensor& zero_point, QRange r, const at::Tensor& like) {
  const auto s = scale.to(at::kCPU, at::kFloat).reshape({-1}).contiguous();
  const auto z = zero_point.to(at::kCPU, at::kInt).reshape({-1}).contiguous();
  const int64_t c = s.numel();
  auto b = at::empty({4, c}, at::kFloat);
  float* p = b.data_ptr<float>();
  for (int64_t i = 0; i < c; ++i) {
    const float sc = s.data_ptr<float>()[i];
    const int64_t zp = z.data_ptr<int32_t>()[i];
    p[i] = 1.0f / sc;
    p[c + i] = sc;
    p[2 * c + i] = static_cast<float>(r.qmin - zp);
    p[3 * c + i] = static_cast<float>(r.qmax - zp);
  }
  return b.to(like.device());
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The soft weight as one autograd node: forward and backward are one kernel each.
class SoftWeight : public torch::autograd::Function<SoftWeight> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& alpha, const at::Tensor& floor_w,
                            const at::Tensor& scale, const at::Tensor& zero_point, int64_t qmin, int64_t qmax,
                            int64_t inner) {
    ctx->save_for_backward({alpha, floor_w, scale, zero_point});
    ctx->saved_data["qmin"] = qmin;
    ctx->saved_data["qmax"] = qmax;
    ctx->saved_data["inner"] = inner;
    auto w = at::empty_like(alpha);
    launch(alpha, floor_w, scale, zero_point, qmin, qmax, inner, nullptr, &w);
    return w;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto grad_w = grads[0].contiguous();
    auto grad_alpha = at::empty_like(saved[0]);
    launch(saved[0], saved[1], saved[2], saved[3], ctx->saved_data["qmin"].toInt(), ctx->saved_data["qmax"].toInt(),
           ctx->saved_data["inner"].toInt(), &grad_w, &grad_alpha);
    return {grad_alpha, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }

 private:
  // Forward (grad_w null: writes the weight into out) or backward (writes dα into out).
  static void launch(const at::Tensor& alpha, const at::Tensor& floor_w, const at::Tensor& scale,
                     const at::Tensor& zero_point, int64_t qmin, int64_t qmax, int64_t inner,
                     const at::Tensor* grad_w, at::Tensor* out) {
    const auto span = static_cast<float>(reconstruct::kZeta - reconstruct::kGamma);
    const auto gamma = static_cast<float>(reconstruct::kGamma);
    const int64_t n = alpha.numel(), channels = scale.numel();
    const auto lo = static_cast<float>(qmin), hi = static_cast<float>(qmax);
    const int rc = grad_w == nullptr
        ? launch_adaround_forward(floor_w.data_ptr<float>(), alpha.data_ptr<float>(), n, inner, channels,
                                  scale.data_ptr<float>(), zero_point.data_ptr<float>(), lo, hi, span, gamma,
                                  out->data_ptr<float>(), stream_of(alpha))
        : launch_adaround_backward(floor_w.data_ptr<float>(), alpha.data_ptr<float>(), grad_w->data_ptr<float>(), n,
                                   inner, channels, scale.data_ptr<float>(), zero_point.data_ptr<float>(), lo, hi,
                                   span, gamma, out->data_ptr<float>(), stream_of(alpha));
    check_launch(rc, grad_w == nullptr ? "AdaRound soft weight" : "AdaRound soft weight backward");
  }
};

}  // namespace

bool kernels_built() { return true; }

at::Tensor fake_quantize(const at::Tensor& x, ScalarQParams qp, QRange range) {
  check_input(x, "fake_quantize (CUDA)");
  c10::cuda::CUDAGuard guard(x.device());
  auto y = at::empty_like(x);
  check_launch(launch_fake_quant_per_tensor(x.data_ptr<float>(), y.data_ptr<float>(), x.numel(), 1.0f / qp.scale,
                                            qp.scale, static_cast<float>(range.qmin - qp.zero_point),
                                            static_cast<float>(range.qmax - qp.zero_point), stream_of(x)),
               "fake_quantize (CUDA)");
  return y;
}

at::Tensor fake_quantize(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& zero_point, QRange range,
                         int64_t ch_axis) {
  check_input(x, "fake_quantize per channel (CUDA)");
  if (ch_axis < 0 || ch_axis >= x.dim() || x.size(ch_axis) != scale.numel() || zero_point.numel() != scale.numel()) {
    throw QuantError(fmt::format("fake_quantize (CUDA): axis {} of a tensor {} does not match {} scales", ch_axis,
                                 c10::str(x.sizes()), scale.numel()));
  }
  c10::cuda::CUDAGuard guard(x.device());
  const auto b = channel_bounds(scale, zero_point, range, x);
  const int64_t c = scale.numel();
  const float* p = b.data_ptr<float>();
  auto y = at::empty_like(x);
  check_launch(launch_fake_quant_per_channel(x.data_ptr<float>(), y.data_ptr<float>(), x.numel(), inner_of(x, ch_axis),
                                             c, p, p + c, p + 2 * c, p + 3 * c, stream_of(x)),
               "fake_quantize per channel (CUDA)");
  return y;
}

at::Tensor lp_error_scores(const at::Tensor& rows, const at::Tensor& cands, double p) {
  check_input(rows, "Lp range search (CUDA)");
  if (rows.dim() != 2 || cands.dim() != 3 || cands.size(0) != rows.size(0) || cands.size(2) != 4) {
    throw QuantError(fmt::format("Lp range search (CUDA): rows {} and candidates {} do not fit", c10::str(rows.sizes()),
                                 c10::str(cands.sizes())));
  }
  c10::cuda::CUDAGuard guard(rows.device());
  auto c = cands.to(rows.device(), at::kFloat).contiguous();
  if (reinterpret_cast<uintptr_t>(c.data_ptr()) % 16 != 0) c = c.clone();  // the kernel reads float4
  const int64_t r = rows.size(0), k = rows.size(1), steps = cands.size(1);
  const int blocks = lp_error_blocks(r, k);
  auto partial = at::empty({r, blocks, steps}, rows.options().dtype(at::kDouble));
  check_launch(launch_lp_error_partials(rows.data_ptr<float>(), r, k, c.data_ptr<float>(), static_cast<int>(steps),
                                        static_cast<float>(p), partial.data_ptr<double>(), blocks, stream_of(rows)),
               "Lp range search (CUDA)");
  return partial.cpu().sum(1);  // the CPU's reduction: one fixed order
}

at::Tensor adaround_soft_weight(const at::Tensor& floor_w, const at::Tensor& alpha, const at::Tensor& scale,
                                const at::Tensor& zero_point, QRange range, int64_t ch_axis) {
  check_input(alpha, "AdaRound soft weight (CUDA)");
  check_input(floor_w, "AdaRound soft weight (CUDA)");
  if (floor_w.sizes() != alpha.sizes() ||
      (ch_axis >= 0 ? ch_axis >= alpha.dim() || alpha.size(ch_axis) != scale.numel() : scale.numel() != 1) ||
      zero_point.numel() != scale.numel()) {
    throw QuantError(fmt::format("AdaRound soft weight (CUDA): weight {}, rounding {}, {} scales along axis {}",
                                 c10::str(floor_w.sizes()), c10::str(alpha.sizes()), scale.numel(), ch_axis));
  }
  c10::cuda::CUDAGuard guard(alpha.device());
  const auto s = scale.to(alpha.device(), at::kFloat).reshape({-1}).contiguous();
  const auto z = zero_point.to(alpha.device(), at::kFloat).reshape({-1}).contiguous();
  const int64_t inner = ch_axis < 0 ? alpha.numel() : inner_of(alpha, ch_axis);
  return SoftWeight::apply(alpha, floor_w, s, z, range.qmin, range.qmax, inner);
}

#else  // a CPU LibTorch: no kernels

namespace {
[[noreturn]] void no_kernels() { throw QuantError("this qsweep was built without CUDA (a CPU LibTorch): no GPU kernels"); }
}  // namespace

bool kernels_built() { return false; }
at::Tensor fake_quantize(const at::Tensor&, ScalarQParams, QRange) { no_kernels(); }
at::Tensor fake_quantize(const at::Tensor&, const at::Tensor&, const at::Tensor&, QRange, int64_t) { no_kernels(); }
at::Tensor lp_error_scores(const at::Tensor&, const at::Tensor&, double) { no_kernels(); }
at::Tensor adaround_soft_weight(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, QRange,
                                int64_t) {
  no_kernels();
}

#endif

}  // namespace qsweep::quant::cuda
