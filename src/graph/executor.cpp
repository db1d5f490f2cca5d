// The one executor: a switch over ops calling ATen. Values live in a vector indexed by node id and
// are released by use counts, so peak memory is that of the widest cut, not the whole network.
#include "graph/executor.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>

namespace qsweep::graph {
namespace {

at::Tensor optional_param(const Graph& g, const Node& n, const std::string& role) {
  return g.has_param(n, role) ? g.param(n, role) : at::Tensor();
}

at::Tensor weight_of(const Graph& g, const Node& n, const ExecOptions& o) {
  const at::Tensor& w = g.param(n, "weight");
  return o.weight ? o.weight(n, w) : w;
}

}  // namespace

at::Tensor apply_node(const Graph& g, const Node& n, const std::vector<at::Tensor>& in, const ExecOptions& o) {
  switch (n.op) {
    case Op::kInput:
      throw GraphError(fmt::format("input node '{}' has no computation", n.name));
    case Op::kConv2d:
      return at::conv2d(in[0], weight_of(g, n, o), optional_param(g, n, "bias"), n.attr_ints("stride"),
                        n.attr_ints("padding"), n.attr_ints("dilation"), n.attr_int("groups"));
    case Op::kBatchNorm2d:
      return at::batch_norm(in[0], g.param(n, "weight"), g.param(n, "bias"), g.param(n, "running_mean"),
                            g.param(n, "running_var"), o.train, n.attr_double("momentum"), n.attr_double("eps"),
                            /*cudnn_enabled=*/true);
    case Op::kRelu:
      return at::relu(in[0]);
    case Op::kRelu6:
      return at::hardtanh(in[0], 0.0, 6.0);
    case Op::kAdd:
      return in[0] + in[1];
    case Op::kMaxPool2d:
      return at::max_pool2d(in[0], n.attr_ints("kernel"), n.attr_ints("stride"), n.attr_ints("padding"));
    case Op::kAdaptiveAvgPool2d:
      return at::adaptive_avg_pool2d(in[0], n.attr_ints("output_size"));
    case Op::kMean:
      return in[0].mean({2, 3});
    case Op::kFlatten:
      return in[0].reshape({in[0].size(0), -1});
    case Op::kLinear:
      return at::linear(in[0], weight_of(g, n, o), optional_param(g, n, "bias"));
    case Op::kDropout:
      return at::dropout(in[0], n.attr_double("p"), o.train);
    case Op::kFakeQuant:
      return o.fake_quant ? o.fake_quant(n, in[0]) : in[0];
  }
  throw GraphError(fmt::format("node '{}': unknown op", n.name));
}

std::vector<at::Tensor> run_nodes(const Graph& g, const std::vector<int>& nodes,
                                  const std::unordered_map<int, at::Tensor>& external, const std::vector<int>& wanted,
                                  const ExecOptions& options) {
  std::vector<at::Tensor> value(g.nodes.size());
  std::vector<int> uses(g.nodes.size(), 0);
  for (int id : nodes) {
    for (int in : g.node(id).inputs) ++uses[in];
  }
  for (int w : wanted) ++uses[w];  // never release what the caller asked for
  for (const auto& [id, t] : external) value.at(id) = t;
  std::vector<at::Tensor> args;
  for (int id : nodes) {
    const Node& n = g.node(id);
    args.clear();
    for (int in : n.inputs) {
      if (!value[in].defined()) {
        throw GraphError(fmt::format("node '{}' reads '{}', which was neither computed nor supplied", n.name,
                                     g.node(in).name));
      }
      args.push_back(value[in]);
    }
    value[id] = apply_node(g, n, args, options);
    if (options.on_output) options.on_output(n, value[id]);
    for (int in : n.inputs) {
      if (--uses[in] == 0) value[in] = at::Tensor();
    }
  }
  std::vector<at::Tensor> out;
  for (int w : wanted) {
    if (!value[w].defined()) throw GraphError(fmt::format("node '{}' was not computed", g.node(w).name));
    out.push_back(value[w]);
  }
  return out;
}

at::Tensor run(const Graph& g, const at::Tensor& input, const ExecOptions& options) {
  std::vector<int> body;
  int input_id = -1;
  for (const auto& n : g.nodes) {
    if (n.op == Op::kInput) {
      if (input_id >= 0) throw GraphError(fmt::format("graph '{}' has more than one input", g.name));
      input_id = n.id;
    } else {
      body.push_back(n.id);
    }
  }
  if (input_id < 0) throw GraphError(fmt::format("graph '{}' has no input node", g.name));
  return run_nodes(g, body, {{input_id, input}}, {g.outputs.at(0)}, options).at(0);
}

}  // namespace qsweep::graph
