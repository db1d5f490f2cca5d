// Runs a graph, or any sub-graph, on whatever device its inputs and parameters are on.
//
//   at::Tensor logits = graph::run(g, images);                       // eval mode, no hooks
//   ExecOptions opt;  opt.fake_quant = [&](const Node& n, const at::Tensor& x) { return table.apply(n, x); };
//   at::Tensor q = graph::run(g, images, opt);
//   // a reconstruction unit: nodes {12, 13, 14} fed with a cached tensor for node 11
//   auto out = graph::run_nodes(g, {12, 13, 14}, {{11, cached}}, {14}, opt);
//
// Autograd follows the inputs and parameters (nothing here disables it); intermediate values are
// freed as soon as their last consumer has run.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <unordered_map>
#include <vector>

#include "graph/graph.h"

namespace qsweep::graph {

struct ExecOptions {
  bool train = false;  // batch-norm batch statistics (and running-stat updates), active dropout
  // Applied at kFakeQuant nodes; identity when unset.
  std::function<at::Tensor(const Node&, const at::Tensor&)> fake_quant;
  // Supplies the weight a conv/linear node uses (weight quantization, AdaRound); the stored one when unset.
  std::function<at::Tensor(const Node&, const at::Tensor& stored)> weight;
  // Sees every computed node output (activation statistics, caching unit inputs).
  std::function<void(const Node&, const at::Tensor&)> on_output;
};

// Runs the whole graph from its single input node; returns the first output.
at::Tensor run(const Graph& g, const at::Tensor& input, const ExecOptions& options = {});

// Runs `nodes` (ascending ids) with `external` values for the nodes they read from outside;
// returns the values of `wanted`, in that order.
std::vector<at::Tensor> run_nodes(const Graph& g, const std::vector<int>& nodes,
                                  const std::unordered_map<int, at::Tensor>& external, const std::vector<int>& wanted,
                                  const ExecOptions& options = {});

// One node's computation on its input values (exposed for tests and passes).
at::Tensor apply_node(const Graph& g, const Node& n, const std::vector<at::Tensor>& inputs, const ExecOptions& options);

}  // namespace qsweep::graph
