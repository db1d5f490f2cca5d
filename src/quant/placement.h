// Quantizer placement as passes (STYLE rules 3–4, SPEC §3): a backend is a list of pass names
// (backends/*.cpp), and prepare() runs them in order on a Placement. Each pass does one thing and
// can be run and tested alone:
//
//   fold-bn            BatchNorm folded into the conv before it (graph/passes.def)
//   assign-defaults    every node's quantization from the backend and the task: which nodes read
//                      quantized inputs, weight/activation bits, observers and schemes
//   first-last-8bit    the first conv and the last linear at 8-bit weights and 8-bit inputs
//   layer-overrides    the task's per-layer rules (layer_rule.h), in order
//   insert-quantizers  an activation quantizer after every value a quantized node reads, a weight
//                      quantizer per quantized conv/linear: the QuantizedModel
//
//   Placement p(fp32, backend("academic"), config);
//   run_placement_pass("assign-defaults", p);  ...           // or prepare(fp32, policy, config)
//   `qsweep inspect-model resnet18 --passes --backend academic` prints each pass's effect.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "quant/backend.h"
#include "quant/quantized_model.h"

namespace qsweep::quant {

// How one node is to be quantized, as the passes decide it (before any quantizer exists).
struct NodeQuant {
  bool quantize_inputs = false;  // the values this node reads get activation quantizers
  bool keep_float = false;       // no weight quantizer; reads its inputs unquantized
  bool first = false, last = false;  // weighted node reading the graph input / producing an output
  QScheme weight, activation;        // weight: of its own weight; activation: of the values it reads
  std::string w_observer, a_observer;
  std::string a_rule;  // where the rule that set a_observer or a_symmetric was written ("" = the task's)
};

struct Placement {
  Placement(const graph::Graph& fp32, const BackendPolicy& policy, const CalibrationConfig& config);

  const BackendPolicy& policy;    // a registry entry (backends live as long as the program)
  const CalibrationConfig config;  // a copy: callers may pass a temporary
  QuantizedModel model;          // model.graph: the graph being placed (a clone of the FP32 graph)
  std::vector<NodeQuant> nodes;  // by node id; filled by assign-defaults
  std::ostream* log = nullptr;   // passes say what they changed here when set
  bool inserted = false;         // insert-quantizers has run: `model` is complete
};

// Names of the placement passes, in the order a backend usually lists them.
std::vector<std::string> placement_pass_names();
// Runs one pass; unknown names throw QuantError listing the known ones.
void run_placement_pass(const std::string& name, Placement& p);
// Runs the backend's passes in order (what prepare() does); throws QuantError when the list does
// not end with the quantizers inserted.
void run_backend_passes(Placement& p);

}  // namespace qsweep::quant
