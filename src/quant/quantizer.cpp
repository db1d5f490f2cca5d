#include "quant/quantizer.h"

#include <ATen/ATen.h>

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

at::Tensor FakeQuant::forward(const at::Tensor& x) {
  if (observer_enabled_) {
    observer_->observe(x);
    refresh_qparams();
  }
  if (!fake_quant_enabled_) return x;
  if (!scheme().per_channel) return fake_quantize(x, scalar_, scheme().range());
  return fake_quantize(x, qparams_, scheme().range(), scheme().ch_axis);
}

}  // namespace qsweep::quant
