// EMAMSEObserver (SPEC §2): the MSE search on every batch, blended across batches by the same EMA
// as EMAMinMax (first batch initialises). The activation observer of every MSE/advanced row.
#include <ATen/ATen.h>

#include "quant/observers/mse_search.h"
#include "quant/observers/observers.h"

namespace qsweep::quant::observers {
namespace {

class EmaMseObserver final : public Observer {
 public:
  using Observer::Observer;
  const char* name() const override { return "ema_mse"; }

 private:
  void update(const at::Tensor& x) override {
    auto [lo, hi] = mse_search_batch(x, options_.p, options_.scheme, group_);
    ema_update(lo, hi);
  }
};

}  // namespace

std::unique_ptr<Observer> make_ema_mse(const ObserverOptions& o) { return std::make_unique<EmaMseObserver>(o); }

}  // namespace qsweep::quant::observers
