// Structural queries over a graph: who consumes a node, whether a value fans out.
#pragma once

#include <vector>

#include "graph/graph.h"

namespace qsweep::graph {

// consumers[id] = ids of nodes reading node id, ascending.
std::vector<std::vector<int>> consumers(const Graph& g);
bool is_output(const Graph& g, int id);

}  // namespace qsweep::graph
