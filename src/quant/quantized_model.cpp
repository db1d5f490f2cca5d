// QuantizedModel's phase switches and hooks; prepare() runs the backend's placement passes (placement.h).
#include "quant/quantized_model.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <fmt/format.h>

#include <algorithm>

#include "graph/topology.h"
#include "quant/placement.h"

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
  Placement p(fp32, policy, config);
  run_backend_passes(p);
  return std::move(p.model);
}

}  // namespace qsweep::quant
