// FakeQuant: one quantizer's state and switches, no policy (STYLE rule 7, SPEC §1.4–1.5).
//
//   FakeQuant q("layer1.0.relu1_post_act_fake_quantizer", spec);   // owns its observer
//   q.set_flags(/*observe=*/true, /*quantize=*/false);  for (auto& b : batches) q.forward(b);
//   q.set_flags(false, true);                           y = q.forward(x);   // SPEC §1.3
//
// Like MQBench's FixedFakeQuantize, qparams are those of the observer after the last batch it saw.
// Flags are uint8 so they can cross MPI/NCCL as they are.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>

#include "quant/observer.h"

namespace qsweep::quant {

// How a quantizer computes once its qparams are set (SPEC §1.4): kFixed multiplies by the float32
// reciprocal of the scale (FixedFakeQuantize, ATen's kernels); kDividing divides by the scale
// (QDropFakeQuantize, the activation quantizer of the BRECQ and QDrop configs, whose scale
// reconstruction learns). Results differ in the last ulp at rounding ties, so the kind is data.
enum class FakeQuantKind { kFixed, kDividing };

// What to build for one tensor: observer kind + scheme and knobs, and the fake-quant kind.
struct QuantSpec {
  std::string observer;     // registry name, e.g. "ema_mse"
  ObserverOptions options;  // scheme (bits, symmetric, per-channel) and p / ema_ratio / ...
  FakeQuantKind kind = FakeQuantKind::kFixed;
};

class FakeQuant {
 public:
  FakeQuant(std::string name, QuantSpec spec);

  at::Tensor forward(const at::Tensor& x);
  void set_flags(bool observe, bool quantize);
  bool observing() const { return observer_enabled_ != 0; }
  bool quantizing() const { return fake_quant_enabled_ != 0; }

  // Recomputes qparams from the observer's current range (SPEC §1.2).
  void refresh_qparams();
  const QParams& qparams() const { return qparams_; }
  // Replaces the observed range (activation statistics shared between tasks).
  void set_range(const at::Tensor& min_val, const at::Tensor& max_val);
  // Replaces the scale alone (a scale learned by reconstruction); the observer keeps its range, and
  // the scale stays until the next observe() or set_range().
  void set_scale(const at::Tensor& scale);

  const std::string& name() const { return name_; }
  const QuantSpec& spec() const { return spec_; }
  const QScheme& scheme() const { return spec_.options.scheme; }
  const Observer& observer() const { return *observer_; }
  Observer& observer() { return *observer_; }

 private:
  std::string name_;
  QuantSpec spec_;
  std::unique_ptr<Observer> observer_;
  QParams qparams_;
  ScalarQParams scalar_;  // per-tensor fast path
  uint8_t observer_enabled_ = 1;
  uint8_t fake_quant_enabled_ = 1;
};

}  // namespace qsweep::quant
