// Graph passes (STYLE rules 3–4): one class per pass with `Preserved run(Graph&, PassContext&)`,
// registered by name in passes.def; pipelines and tests refer to passes by that name.
//
//   graph::PassContext ctx;
//   graph::run_pass("fold-bn", g, ctx);   // or graph::FoldBatchNorm{}.run(g, ctx)
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace qsweep::graph {

// What a pass left intact, so callers know which derived facts are still valid.
enum class Preserved {
  kNone,      // nodes were added, removed or rewired
  kTopology,  // only attributes or parameter values changed
  kAll,       // nothing changed
};

struct PassContext {
  std::ostream* log = nullptr;  // passes say what they did here when set
};

// Folds every BatchNorm whose only producer is a conv read by nothing else into that conv:
// w' = w·γ/√(σ²+ε), b' = (b − μ)·γ/√(σ²+ε) + β (TensorRT placement; Academic never folds).
class FoldBatchNorm {
 public:
  Preserved run(Graph& g, PassContext& ctx);
};

// Names of the registered passes (passes.def order).
std::vector<std::string> pass_names();
// Runs a registered pass; unknown names throw GraphError listing the known ones.
Preserved run_pass(const std::string& name, Graph& g, PassContext& ctx);

}  // namespace qsweep::graph
