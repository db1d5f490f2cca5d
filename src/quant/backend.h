// Backends are policies (STYLE rule 8, SPEC §3): which consumers get their inputs quantized, which
// schemes weights and activations use, whether BatchNorm is folded, and the first/last-layer
// rule. prepare() (prepare.h) consumes a policy; adding a backend touches its own file in
// backends/ and one registry line, never a model builder.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "quant/qscheme.h"
#include "quant/quantizer.h"

namespace qsweep::quant {

// A task's quantization choices, independent of the backend.
struct CalibrationConfig {
  std::string w_observer = "minmax";
  std::string a_observer = "ema_minmax";
  int wbit = 8;
  int abit = 8;
  double w_p = 2.0;  // Lp of an MSE weight observer (2.0 naive rows, 2.4 reconstruction configs)
  double a_p = 2.0;  // Lp of an MSE activation observer
  double ema_ratio = 0.9;
  // TensorRT only: the [−127, 127] range MQBench uses since 2022-05 (default) or the [−128, 127]
  // range of the published TensorRT table (false). SPEC §3.2 AMBIG.
  bool symmetric_range = true;
  // Activation fake-quant kind: kDividing for the BRECQ/QDrop configs (QDropFakeQuantize).
  FakeQuantKind a_fake_quant = FakeQuantKind::kFixed;
};

struct BackendPolicy {
  std::string name;          // registry key: "academic"
  std::string display_name;  // table label: "Academic"
  bool fold_batch_norm = false;
  bool first_last_8bit = false;              // first conv / last linear weights and their input quantizers at 8 bit
  std::set<graph::Op> quantized_consumers;   // an activation quantizer follows every producer feeding one of these
  QScheme weight;                            // bits filled per task
  QScheme activation;
  bool honours_symmetric_range = false;      // CalibrationConfig::symmetric_range applies

  QScheme weight_scheme(int bits, const CalibrationConfig& c) const;
  QScheme activation_scheme(int bits, const CalibrationConfig& c) const;
};

const BackendPolicy& academic_backend();
const BackendPolicy& tensorrt_backend();

std::vector<std::string> backend_names();
// Accepts the registry key or the table label, case-insensitively ("TensorRT", "tensorrt").
const BackendPolicy& backend(const std::string& name);

}  // namespace qsweep::quant
