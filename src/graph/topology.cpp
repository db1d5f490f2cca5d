#include "graph/topology.h"

#include <algorithm>

namespace qsweep::graph {

std::vector<std::vector<int>> consumers(const Graph& g) {
  std::vector<std::vector<int>> out(g.nodes.size());
  for (const auto& n : g.nodes) {
    for (int in : n.inputs) {
      if (out[in].empty() || out[in].back() != n.id) out[in].push_back(n.id);
    }
  }
  return out;
}

bool is_output(const Graph& g, int id) { return std::find(g.outputs.begin(), g.outputs.end(), id) != g.outputs.end(); }

}  // namespace qsweep::graph
