// Text dump of a graph: one line per node with id, op, name, inputs, attributes and parameter shapes.
#pragma once

#include <ostream>

#include "graph/graph.h"

namespace qsweep::graph {

void dump(const Graph& g, std::ostream& os);

}  // namespace qsweep::graph
