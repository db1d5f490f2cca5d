// MSEObserver (SPEC §2): per batch, the Lp-optimal shrink of (min, max) (mse_search.h); across
// batches the running widest range. For weights (one batch) it is just the search result.
#include <ATen/ATen.h>

#include "quant/observers/mse_search.h"
#include "quant/observers/observers.h"

namespace qsweep::quant::observers {
namespace {

class MseObserver final : public Observer {
 public:
  using Observer::Observer;
  const char* name() const override { return "mse"; }

 private:
  void update(const at::Tensor& x) override {
    auto [lo, hi] = mse_search_batch(x, options_.p, options_.scheme, group_);
    widen(lo, hi);
  }
};

}  // namespace

std::unique_ptr<Observer> make_mse(const ObserverOptions& o) { return std::make_unique<MseObserver>(o); }

}  // namespace qsweep::quant::observers
