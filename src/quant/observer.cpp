// The Observer contract (input checks, shared min/max updates) and the observer registry.
#include "quant/observer.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <fmt/format.h>

#include <limits>
#include <tuple>

#include "quant/observers/observers.h"
#include "support/collective.h"
#include "support/strings.h"

namespace qsweep::quant {

Observer::Observer(ObserverOptions options) : options_(std::move(options)) {
  options_.scheme.validate();
  min_val_ = at::full({}, std::numeric_limits<float>::infinity(), at::kFloat);
  max_val_ = at::full({}, -std::numeric_limits<float>::infinity(), at::kFloat);
}

void Observer::observe(const at::Tensor& x) {
  at::NoGradGuard no_grad;
  if (!x.defined() || x.numel() == 0) throw QuantError(fmt::format("{} observer: empty input tensor", name()));
  if (!x.is_floating_point()) {
    throw QuantError(fmt::format("{} observer: expected a floating-point tensor, got {}", name(),
                                 c10::toString(x.scalar_type())));
  }
  const auto xf = x.detach().to(at::kFloat).contiguous();
  if (!all_finite(xf)) {
    throw QuantError(fmt::format("{} observer: input of shape {} contains NaN or Inf", name(), c10::str(xf.sizes())));
  }
  const auto& s = options_.scheme;
  if (s.per_channel && s.ch_axis >= xf.dim()) {
    throw QuantError(fmt::format("{} observer: ch_axis {} out of range for a {}-d input", name(), s.ch_axis, xf.dim()));
  }
  update(xf);
  ++batches_;
}

void Observer::load_range(const at::Tensor& min_val, const at::Tensor& max_val) {
  (void)compute_qparams(min_val, max_val, options_.scheme);  // validates the pair
  min_val_ = min_val.detach().to(at::kFloat).clone();
  max_val_ = max_val.detach().to(at::kFloat).clone();
  batches_ = std::max<int64_t>(batches_, 1);
}

bool Observer::all_finite(const at::Tensor& x) const {
  if (!support::grouped(group_)) return at::isfinite(x).all().item<bool>();
  // Every rank of the group must take the same branch, or the others would wait in the next
  // reduction for a rank that threw.
  auto bad = at::logical_not(at::isfinite(x).all()).to(at::kInt).reshape({1}).contiguous();
  group_->all_reduce(bad, support::Reduce::kMax);
  return bad.item<int>() == 0;
}

QParams Observer::qparams() const { return compute_qparams(min_val_, max_val_, options_.scheme); }

std::pair<at::Tensor, at::Tensor> Observer::batch_min_max(const at::Tensor& x) const {
  at::Tensor lo, hi;
  if (!options_.scheme.per_channel) {
    std::tie(lo, hi) = at::aminmax(x);
  } else {
    std::tie(lo, hi) = at::aminmax(x.transpose(0, options_.scheme.ch_axis).flatten(1), 1);
  }
  if (support::grouped(group_)) {
    lo = lo.contiguous();
    hi = hi.contiguous();
    group_->all_reduce(lo, support::Reduce::kMin);
    group_->all_reduce(hi, support::Reduce::kMax);
  }
  return {lo, hi};
}

void Observer::ema_update(const at::Tensor& batch_min, const at::Tensor& batch_max) {
  if (batches_ == 0) {
    min_val_ = batch_min;
    max_val_ = batch_max;
    return;
  }
  // Same float32 operations as MQBench: scalar factors 0.9 and (1.0 − 0.9) rounded to float.
  const double r = options_.ema_ratio;
  min_val_ = min_val_ * r + batch_min * (1.0 - r);
  max_val_ = max_val_ * r + batch_max * (1.0 - r);
}

void Observer::widen(const at::Tensor& batch_min, const at::Tensor& batch_max) {
  min_val_ = batches_ == 0 ? batch_min : at::minimum(min_val_, batch_min);
  max_val_ = batches_ == 0 ? batch_max : at::maximum(max_val_, batch_max);
}

const std::vector<ObserverInfo>& observer_registry() {
  using namespace observers;
  static const std::vector<ObserverInfo> registry = {
      {"minmax", "MinMax", "running min/max over all batches", false, make_min_max, ""},
      {"ema_minmax", "EMAMinMax", "EMA (0.9) of per-batch min/max; first batch initialises", false, make_ema_min_max, ""},
      {"ema_quantile", "EMAQuantile", "EMA of per-batch |x| 0.99999-quantile clip (2048 bins), corrected", true,
       make_ema_quantile, ""},
      // Marked, so that a reader does not take its numbers (EMAMinMax's) for quantile clipping's.
      {"ema_quantile_legacy", "EMAQuantile†",
       "published-era EMAQuantile (no cumulative count: effectively EMAMinMax), SPEC §2 AMBIG", true,
       make_ema_quantile_legacy,
       "† EMAQuantile as the published numbers were made (ema_quantile_legacy): MQBench's quantile observer "
       "without its cumulative count clips nothing, so these are EMAMinMax's numbers (SPEC §2, AMBIG); "
       "EMAQuantile without † is the corrected 0.99999-quantile clip (ema_quantile)."},
      {"mse", "MSE", "Lp-optimal shrink of min/max (95 per-tensor / 80 per-channel steps), running widest", false,
       make_mse, ""},
      {"ema_mse", "EMAMSE", "EMA (0.9) of per-batch Lp-optimal ranges", false, make_ema_mse, ""},
  };
  return registry;
}

const ObserverInfo& observer_info(const std::string& name) {
  std::vector<std::string> known;
  for (const auto& info : observer_registry()) {
    if (info.name == name) return info;
    known.push_back(info.name);
  }
  throw QuantError(unknown_name_message("observer", name, known));
}

std::unique_ptr<Observer> make_observer(const std::string& name, const ObserverOptions& options) {
  const auto& info = observer_info(name);
  if (info.per_tensor_only && options.scheme.per_channel) {
    throw QuantError(fmt::format("observer '{}' supports per-tensor schemes only", name));
  }
  return info.make(options);
}

}  // namespace qsweep::quant
