// prepare(): BN folding (when the policy says), the first/last-layer rule, quantizer insertion.
#include "quant/quantized_model.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <fmt/format.h>

#include <algorithm>

#include "graph/passes.h"
#include "graph/topology.h"

namespace qsweep::quant {

std::string activation_quantizer_name(const std::string& producer) {
  std::string n = producer;
  std::replace(n.begin(), n.end(), '.', '_');
  return n + "_post_act_fake_quantizer";
}

void QuantizedModel::set_mode(Mode mode) {
  mode_ = mode;
  const bool observe_acts = mode == Mode::kCalibrateActivations;
  const bool quantize = mode == Mode::kQuantize;
  for (auto& a : activations) a.set_flags(observe_acts, quantize);
  for (auto& w : weights) w.quantizer.set_flags(false, quantize);
  quantized_weights_.clear();
  if (!quantize) return;
  at::NoGradGuard no_grad;
  for (auto& w : weights) {
    const auto& stored = graph.param(graph.node(graph.find(w.node)), "weight");
    quantized_weights_[w.node] = w.quantizer.forward(stored);
  }
}

void QuantizedModel::calibrate_weights() {
  at::NoGradGuard no_grad;
  for (auto& w : weights) {
    w.quantizer.set_flags(true, false);
    w.quantizer.forward(graph.param(graph.node(graph.find(w.node)), "weight"));
    w.quantizer.set_flags(false, mode_ == Mode::kQuantize);
  }
}

void QuantizedModel::replace_weight(const std::string& node_name, const at::Tensor& weight) {
  const int id = graph.find(node_name);
  if (id < 0 || !graph::has_weight(graph.node(id).op)) {
    throw QuantError(fmt::format("replace_weight: '{}' is not a conv/linear node", node_name));
  }
  at::NoGradGuard no_grad;
  graph.params.set(node_name + ".weight", weight.detach().clone());
  if (mode_ != Mode::kQuantize) return;
  for (auto& w : weights) {
    if (w.node == node_name) quantized_weights_[node_name] = w.quantizer.forward(graph.params.at(node_name + ".weight"));
  }
}

void QuantizedModel::set_group(const support::Collective* group) {
  for (auto& a : activations) a.observer().set_group(group);
}

FakeQuant& QuantizedModel::activation_of(const graph::Node& n) {
  return activations.at(static_cast<size_t>(n.attr_int("quantizer")));
}

const WeightQuantizer* QuantizedModel::weight_of(const std::string& node_name) const {
  for (const auto& w : weights) {
    if (w.node == node_name) return &w;
  }
  return nullptr;
}

graph::ExecOptions QuantizedModel::exec_options() {
  graph::ExecOptions o;
  o.fake_quant = [this](const graph::Node& n, const at::Tensor& x) { return activation_of(n).forward(x); };
  o.weight = [this](const graph::Node& n, const at::Tensor& stored) {
    auto it = quantized_weights_.find(n.name);
    return it == quantized_weights_.end() ? stored : it->second;
  };
  return o;
}

QuantizedModel prepare(const graph::Graph& fp32, const BackendPolicy& policy, const CalibrationConfig& config) {
  QuantizedModel qm;
  qm.backend = policy.name;
  graph::Graph g = fp32.clone();
  if (policy.fold_batch_norm) {
    graph::PassContext ctx;
    graph::run_pass("fold-bn", g, ctx);
  }
  // First layer: weighted nodes reading the graph input; last: weighted output nodes (SPEC §3.1).
  std::vector<bool> eight_bit_layer(g.nodes.size(), false);
  if (policy.first_last_8bit) {
    for (const auto& n : g.nodes) {
      if (!graph::has_weight(n.op)) continue;
      const bool first = std::any_of(n.inputs.begin(), n.inputs.end(),
                                     [&](int in) { return g.node(in).op == graph::Op::kInput; });
      if (first || graph::is_output(g, n.id)) eight_bit_layer[n.id] = true;
    }
  }
  // Producers whose value some quantized consumer reads; 8-bit if a first/last layer reads it.
  std::vector<int> act_bits(g.nodes.size(), 0);
  for (const auto& n : g.nodes) {
    if (!policy.quantized_consumers.count(n.op)) continue;
    for (int in : n.inputs) {
      const int bits = eight_bit_layer[n.id] ? 8 : config.abit;
      act_bits[in] = std::max(act_bits[in], bits);
    }
  }
  // Rebuild the node list with a quantizer after each such producer; consumers read the quantizer.
  std::vector<graph::Node> nodes;
  std::vector<int> read_id(g.nodes.size(), -1);
  for (const auto& old : g.nodes) {
    graph::Node n = old;
    n.id = static_cast<int>(nodes.size());
    for (int& in : n.inputs) in = read_id[in];
    nodes.push_back(n);
    read_id[old.id] = n.id;
    if (act_bits[old.id] == 0) continue;
    ObserverOptions opt;
    opt.scheme = policy.activation_scheme(act_bits[old.id], config);
    opt.p = config.a_p;
    opt.ema_ratio = config.ema_ratio;
    graph::Node q;
    q.id = static_cast<int>(nodes.size());
    q.op = graph::Op::kFakeQuant;
    q.name = activation_quantizer_name(old.name);
    q.inputs = {n.id};
    q.attrs["quantizer"] = static_cast<int64_t>(qm.activations.size());
    q.attrs["bits"] = static_cast<int64_t>(act_bits[old.id]);
    qm.activations.emplace_back(q.name, QuantSpec{config.a_observer, opt, config.a_fake_quant});
    nodes.push_back(q);
    read_id[old.id] = q.id;
  }
  for (int& o : g.outputs) o = read_id[o];
  // Weight quantizers, one per conv/linear, in graph order.
  for (const auto& old : g.nodes) {
    if (!graph::has_weight(old.op)) continue;
    ObserverOptions opt;
    opt.scheme = policy.weight_scheme(eight_bit_layer[old.id] ? 8 : config.wbit, config);
    opt.p = config.w_p;
    opt.ema_ratio = config.ema_ratio;
    qm.weights.push_back({old.name, FakeQuant(old.name + ".weight_fake_quant", QuantSpec{config.w_observer, opt})});
  }
  g.nodes = std::move(nodes);
  g.validate();
  qm.graph = std::move(g);
  return qm;
}

}  // namespace qsweep::quant
