// EMAMinMaxObserver (SPEC §2): EMA of per-batch extremes, v = 0.9·v + 0.1·batch; the first batch
// initialises. Not torch's MovingAverage observer, whose constant is 0.01.
#include <ATen/ATen.h>

#include "quant/observers/observers.h"

namespace qsweep::quant::observers {
namespace {

class EmaMinMaxObserver final : public Observer {
 public:
  using Observer::Observer;
  const char* name() const override { return "ema_minmax"; }

 private:
  void update(const at::Tensor& x) override {
    auto [lo, hi] = batch_min_max(x);
    ema_update(lo, hi);
  }
};

}  // namespace

std::unique_ptr<Observer> make_ema_min_max(const ObserverOptions& o) {
  return std::make_unique<EmaMinMaxObserver>(o);
}

}  // namespace qsweep::quant::observers
