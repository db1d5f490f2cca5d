// A graph with quantizers in it, and the phase switches of the PTQ protocol (SPEC §1.5, §4).
//
//   QuantizedModel qm = prepare(fp32_graph, backend("academic"), config);
//   qm.set_mode(Mode::kCalibrateActivations);       // observers on, every fake-quant off
//   for (auto& b : calibration) graph::run(qm.graph, b, qm.exec_options());
//   qm.calibrate_weights();                         // each weight observer sees its weight once
//   qm.set_mode(Mode::kQuantize);                   // fake-quant everywhere, observers off
//   at::Tensor logits = graph::run(qm.graph, images, qm.exec_options());
//
// prepare() inserts one activation quantizer per producing node (named like MQBench's
// "<node>_post_act_fake_quantizer") right after the producer, and rewires every consumer of that
// node to the quantized value — residual paths included (SPEC §9.2).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "graph/executor.h"
#include "graph/graph.h"
#include "quant/backend.h"
#include "quant/quantizer.h"

namespace qsweep::support {
class Collective;
}

namespace qsweep::quant {

enum class Mode {
  kFloat,                 // every quantizer off: the FP32 network
  kCalibrateActivations,  // activation observers on, all fake-quant off (observers see FP32 values)
  kQuantize,              // fake-quant on everywhere, observers off; weights quantized once
};

struct WeightQuantizer {
  std::string node;  // conv/linear node name
  FakeQuant quantizer;
};

class QuantizedModel {
 public:
  graph::Graph graph;
  std::vector<FakeQuant> activations;  // indexed by a fake_quant node's "quantizer" attribute
  std::vector<WeightQuantizer> weights;
  std::string backend;

  void set_mode(Mode mode);
  Mode mode() const { return mode_; }
  // MQBench's single weight-calibration forward, without the forward: each weight observer
  // observes its (possibly BN-folded) weight exactly once.
  void calibrate_weights();
  // Hooks for the executor: activation fake-quant at kFakeQuant nodes, quantized weights.
  graph::ExecOptions exec_options();

  // Overwrites a conv/linear weight (AdaRound's hard-rounded value) and, in kQuantize, its quantized
  // copy: the weight quantizer re-applies nearest rounding, which leaves grid values unchanged.
  void replace_weight(const std::string& node_name, const at::Tensor& weight);

  // Activation observers reduce each batch's statistics over `group` (a task group: every rank
  // runs its part of each calibration batch). Weight observers stay local: every rank of a group
  // holds the whole weights and calibrates them identically. Null: this rank alone.
  void set_group(const support::Collective* group);

  FakeQuant& activation_of(const graph::Node& fake_quant_node);
  const WeightQuantizer* weight_of(const std::string& node_name) const;

 private:
  Mode mode_ = Mode::kFloat;
  std::map<std::string, at::Tensor> quantized_weights_;  // filled when entering kQuantize
};

// Builds the quantized model of `fp32` for one backend and task configuration (clones the graph).
QuantizedModel prepare(const graph::Graph& fp32, const BackendPolicy& policy, const CalibrationConfig& config);

// "layer1.0.relu1" → "layer1_0_relu1_post_act_fake_quantizer" (MQBench's torch.fx names).
std::string activation_quantizer_name(const std::string& producer);

}  // namespace qsweep::quant
