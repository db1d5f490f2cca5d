// MinMaxObserver (SPEC §2): running minimum and maximum over every observed batch.
#include <ATen/ATen.h>

#include "quant/observers/observers.h"

namespace qsweep::quant::observers {
namespace {

class MinMaxObserver final : public Observer {
 public:
  using Observer::Observer;
  const char* name() const override { return "minmax"; }

 private:
  void update(const at::Tensor& x) override {
    auto [lo, hi] = batch_min_max(x);
    widen(lo, hi);
  }
};

}  // namespace

std::unique_ptr<Observer> make_min_max(const ObserverOptions& o) { return std::make_unique<MinMaxObserver>(o); }

}  // namespace qsweep::quant::observers
