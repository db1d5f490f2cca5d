// Backends are policies (STYLE rule 8, SPEC §3): which consumers get their inputs quantized, which
// schemes weights and activations use, and the placement passes that apply them (placement.h:
// fold-bn, first-last-8bit, ...). prepare() runs a policy's passes in order; adding a backend
// touches its own file in backends/ and one registry line, never a model builder.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "quant/layer_rule.h"
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
  // Per-layer overrides, applied in order by the layer-overrides pass after the backend's rules.
  std::vector<LayerRule> layers;
};

struct BackendPolicy {
  std::string name;          // registry key: "academic"
  std::string display_name;  // table label: "Academic"
  // The placement passes prepare() runs, in order (placement.h): the backend's rules as data.
  std::vector<std::string> passes;
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
