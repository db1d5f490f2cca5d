// Observers: statistics in, quantization parameters out (STYLE rule 5, SPEC §2).
//
//   ObserverOptions opt;                       // scheme + algorithm knobs (p, ema_ratio, ...)
//   opt.scheme = {.bits = 8, .symmetric = false};
//   auto obs = make_observer("ema_minmax", opt);
//   for (const auto& batch : calibration) obs->observe(activation(batch));
//   QParams qp = obs->qparams();               // SPEC §1.2 on the observed range
//
// observe() runs without autograd on a detached float32 copy and only updates min_val/max_val;
// qparams() is always compute_qparams(min_val, max_val, scheme).
//
// In a task group (set_group) every rank observes its part of each batch and the per-batch
// statistics are reduced before the update, so the running statistics are those one rank would
// compute from the whole batch: min/max by min/max reduction, histograms and candidate errors by
// sums (docs/groups.md). Each observer lives in
// src/quant/observers/<name>.cpp and is registered by one line in observer.cpp.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "quant/qscheme.h"

namespace qsweep::support {
class Collective;
}

namespace qsweep::quant {

struct ObserverOptions {
  QScheme scheme;
  double p = 2.0;                      // Lp norm of the MSE search (2.0 naive rows, 2.4 reconstruction)
  double ema_ratio = 0.9;              // weight of the old value: v = r·v + (1 − r)·batch
  double quantile_threshold = 0.99999; // ema_quantile: fraction of |x| kept
  int quantile_bins = 2048;            // ema_quantile: histogram bins over [0, max|x|]
};

class Observer {
 public:
  explicit Observer(ObserverOptions options);
  virtual ~Observer() = default;

  // Updates the statistics with one batch. Throws QuantError for empty, non-float or non-finite input.
  void observe(const at::Tensor& x);
  // SPEC §1.2 on the current range; scale 1 / zero point 0 before the first observe().
  QParams qparams() const;

  // Replaces the statistics (activation ranges shared between tasks, checkpoints of observers).
  void load_range(const at::Tensor& min_val, const at::Tensor& max_val);

  const at::Tensor& min_val() const { return min_val_; }
  const at::Tensor& max_val() const { return max_val_; }
  int64_t batches_seen() const { return batches_; }
  const ObserverOptions& options() const { return options_; }
  virtual const char* name() const = 0;

  // The ranks that see the other parts of every batch; null: this rank sees whole batches.
  // Not owned; must outlive the observing.
  void set_group(const support::Collective* group) { group_ = group; }
  const support::Collective* group() const { return group_; }

 protected:
  // x: detached, float32, contiguous, non-empty, finite.
  virtual void update(const at::Tensor& x) = 0;
  // Whether x (every rank's part, in a group) holds only finite values.
  bool all_finite(const at::Tensor& x) const;

  // Per-tensor (0-dim) or per-channel ([C]) extremes of one batch (of the whole batch in a group).
  std::pair<at::Tensor, at::Tensor> batch_min_max(const at::Tensor& x) const;
  // First batch sets the range; later ones blend v = r·v + (1 − r)·batch (EMA* observers).
  void ema_update(const at::Tensor& batch_min, const at::Tensor& batch_max);
  // Running widest range over batches (MinMax, MSE).
  void widen(const at::Tensor& batch_min, const at::Tensor& batch_max);

  ObserverOptions options_;
  const support::Collective* group_ = nullptr;
  at::Tensor min_val_, max_val_;
  int64_t batches_ = 0;
};

using ObserverFactory = std::function<std::unique_ptr<Observer>(const ObserverOptions&)>;

struct ObserverInfo {
  std::string name;          // registry key used in sweep files: "ema_mse"
  std::string display_name;  // table label: "EMAMSE"
  std::string summary;
  bool per_tensor_only = false;
  ObserverFactory make;
  // When the label carries a mark ("EMAQuantile†"), the footnote a table or plot prints under it.
  std::string footnote;
};

// Registered observers in a fixed order.
const std::vector<ObserverInfo>& observer_registry();
// Throws QuantError naming the known observers when `name` is unknown (suggesting the closest).
const ObserverInfo& observer_info(const std::string& name);
std::unique_ptr<Observer> make_observer(const std::string& name, const ObserverOptions& options);

}  // namespace qsweep::quant
