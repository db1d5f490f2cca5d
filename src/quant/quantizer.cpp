#include "quant/quantizer.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "quant/fake_quant.h"

namespace qsweep::quant {

FakeQuant::FakeQuant(std::string name, QuantSpec spec)
    : name_(std::move(name)), spec_(std::move(spec)), observer_(make_observer(spec_.observer, spec_.options)) {
  refresh_qparams();
}

void FakeQuant::set_flags(bool observe, bool quantize) {
  observer_enabled_ = observe ? 1 : 0;
  fake_quant_enabled_ = quantize ? 1 : 0;
}

void FakeQuant::refresh_qparams() {
  qparams_ = observer_->qparams();
  if (!scheme().per_channel) scalar_ = {qparams_.scale.item<float>(), qparams_.zero_point.item<int32_t>()};
}

void FakeQuant::set_range(const at::Tensor& min_val, const at::Tensor& max_val) {
  observer_->load_range(min_val, max_val);
  refresh_qparams();
}

void FakeQuant::set_scale(const at::Tensor& scale) {
  if (scale.numel() != qparams_.scale.numel()) {
    throw QuantError(fmt::format("{}: set_scale got {} scales, expected {}", name_, scale.numel(), qparams_.scale.numel()));
  }
  qparams_.scale = scale.detach().to(qparams_.scale.options()).reshape(qparams_.scale.sizes()).clone();
  if (!scheme().per_channel) scalar_.scale = qparams_.scale.item<float>();
}

at::Tensor FakeQuant::forward(const at::Tensor& x) {
  if (observer_enabled_) {
    observer_->observe(x);
    refresh_qparams();
  }
  if (!fake_quant_enabled_) return x;
  if (spec_.kind == FakeQuantKind::kDividing) {
    return fake_quantize_learnable(x, qparams_.scale.to(x.device()), qparams_.zero_point.to(x.device()),
                                   scheme().range(), scheme().axis());
  }
  if (!scheme().per_channel) return fake_quantize(x, scalar_, scheme().range());
  return fake_quantize(x, qparams_, scheme().range(), scheme().ch_axis);
}

}  // namespace qsweep::quant
