// Reconstruction units (SPEC §5.1): which nodes of a prepared (quantized) graph AdaRound, BRECQ and
// QDrop optimise together, found exactly as MQBench's advanced_ptq.py finds them.
//
//   auto qm = quant::prepare(fp32, quant::academic_backend(), config);
//   auto units = reconstruct::partition(qm.graph, reconstruct::Pattern::kBlock);
//   reconstruct::dump(qm.graph, units, std::cout);   // one line per unit
//
// An analysis, not a pass: it reads the graph (kFakeQuant nodes mark the activation quantizers)
// and changes nothing. Every conv/linear, in topological order, starts a unit unless an earlier
// unit already holds it:
//  * layer: the chain of first consumers from the conv, stopping before a conv/linear or an add
//    consumer, or at the graph output — so [conv, bn, relu, relu_q] ends with the next input's
//    quantizer, while [conv2, bn2] stops at the residual add unquantized;
//  * block: a breadth-first walk from the unit's input that runs to a residual add when one joins
//    the paths, then continues as a layer from it; without a residual, up to three layers are
//    stacked, stopping early when the last value fans out (the next block is residual).
// The unit's external inputs (in practice the preceding quantizer) are cached, not recomputed;
// branches that do not lead to the unit's first sink are pruned (MQBench's find_cur_node).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace qsweep::quant::reconstruct {

enum class Pattern { kLayer, kBlock };
const char* pattern_name(Pattern p);
// "layer" | "block"; anything else throws QuantError naming both.
Pattern pattern_from_name(const std::string& name);

struct Unit {
  std::vector<int> inputs;      // nodes whose cached outputs feed the unit (placeholders in MQBench)
  std::vector<int> body;        // nodes the unit computes, ascending ids; body.back() is the output
  std::vector<int> layers;      // conv/linear nodes in body: their rounding is learned
  std::vector<int> quantizers;  // kFakeQuant nodes in body: scales learned by BRECQ/QDrop, dropped by QDrop
  int output() const { return body.back(); }
};

std::vector<Unit> partition(const graph::Graph& g, Pattern pattern);
// The unit whose body computes the node named `node_name`, or null (benchmarks pick a unit by a
// layer's name).
const Unit* unit_holding(const std::vector<Unit>& units, const graph::Graph& g, const std::string& node_name);

// Node names of one unit's body: "conv1 bn1 relu maxpool maxpool_post_act_fake_quantizer".
std::vector<std::string> unit_node_names(const graph::Graph& g, const Unit& u);
// One line per unit: index, input(s), then the body's node names.
void dump(const graph::Graph& g, const std::vector<Unit>& units, std::ostream& os);

}  // namespace qsweep::quant::reconstruct
