// The placement passes. Node quantization is decided on NodeQuant records first (assign-defaults,
// first-last-8bit, layer-overrides) and materialised once (insert-quantizers), so each rule is a
// small function over data and the quantizer names and order stay MQBench's.
#include "quant/placement.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <utility>

#include "graph/passes.h"
#include "graph/topology.h"
#include "quant/observer.h"
#include "support/strings.h"

namespace qsweep::quant {
namespace {

void say(const Placement& p, const std::string& line) {
  if (p.log) *p.log << line << "\n";
}

void require_assigned(const Placement& p, const char* pass) {
  if (p.inserted) throw QuantError(fmt::format("placement pass {} runs before insert-quantizers", pass));
  if (p.nodes.size() != p.model.graph.nodes.size()) {
    throw QuantError(fmt::format("placement pass {} needs assign-defaults first", pass));
  }
}

void fold_bn(Placement& p) {
  // Folding removes nodes and renumbers the rest: records made before would describe other nodes.
  if (!p.nodes.empty() || p.inserted) throw QuantError("placement pass fold-bn runs before assign-defaults");
  graph::PassContext ctx;
  ctx.log = p.log;
  const size_t before = p.model.graph.nodes.size();
  graph::run_pass("fold-bn", p.model.graph, ctx);
  say(p, fmt::format("fold-bn: {} -> {} nodes", before, p.model.graph.nodes.size()));
}

void assign_defaults(Placement& p) {
  const auto& g = p.model.graph;
  const auto& c = p.config;
  p.nodes.assign(g.nodes.size(), NodeQuant{});
  int consumers = 0;
  for (const auto& n : g.nodes) {
    NodeQuant& q = p.nodes[static_cast<size_t>(n.id)];
    q.quantize_inputs = p.policy.quantized_consumers.count(n.op) > 0;
    q.weight = p.policy.weight_scheme(c.wbit, c);
    q.activation = p.policy.activation_scheme(c.abit, c);
    q.w_observer = c.w_observer;
    q.a_observer = c.a_observer;
    if (graph::has_weight(n.op)) {
      q.first = std::any_of(n.inputs.begin(), n.inputs.end(), [&](int in) { return g.node(in).op == graph::Op::kInput; });
      q.last = graph::is_output(g, n.id);
    }
    consumers += q.quantize_inputs;
  }
  say(p, fmt::format("assign-defaults: {} nodes read quantized inputs (W{}A{}, {} / {})", consumers, c.wbit, c.abit,
                     c.w_observer, c.a_observer));
}

void first_last_8bit(Placement& p) {
  require_assigned(p, "first-last-8bit");
  for (const auto& n : p.model.graph.nodes) {
    NodeQuant& q = p.nodes[static_cast<size_t>(n.id)];
    if (!q.first && !q.last) continue;
    q.weight = p.policy.weight_scheme(8, p.config);
    q.activation = p.policy.activation_scheme(8, p.config);
    say(p, fmt::format("first-last-8bit: {} ({}) at W8A8", n.name, q.first ? "first" : "last"));
  }
}

QScheme with_bits(const BackendPolicy& policy, const CalibrationConfig& c, QScheme s, int bits, bool weight) {
  QScheme out = weight ? policy.weight_scheme(bits, c) : policy.activation_scheme(bits, c);
  out.symmetric = s.symmetric, out.per_channel = s.per_channel, out.symmetric_range = s.symmetric_range;
  out.validate();
  return out;
}

void apply_rule(const Placement& p, const LayerRule& r, NodeQuant& q) {
  if (r.keep_float) q.keep_float = true;
  if (r.wbit) q.weight = with_bits(p.policy, p.config, q.weight, *r.wbit, true);
  if (r.abit) q.activation = with_bits(p.policy, p.config, q.activation, *r.abit, false);
  if (r.w_observer) q.w_observer = *r.w_observer;
  if (r.a_observer) q.a_observer = *r.a_observer;
  if (r.a_observer || r.a_symmetric) q.a_rule = r.origin.empty() ? "'" + r.label() + "'" : r.origin;
  if (r.w_symmetric) {
    q.weight.symmetric = *r.w_symmetric;
    q.weight.symmetric_range = *r.w_symmetric && p.policy.honours_symmetric_range && p.config.symmetric_range;
  }
  if (r.w_per_channel) q.weight.per_channel = *r.w_per_channel;
  if (r.a_symmetric) {
    q.activation.symmetric = *r.a_symmetric;
    q.activation.symmetric_range = *r.a_symmetric && p.policy.honours_symmetric_range && p.config.symmetric_range;
  }
  q.weight.validate();
  q.activation.validate();
}

void layer_overrides(Placement& p) {
  require_assigned(p, "layer-overrides");
  if (p.config.layers.empty()) say(p, "layer-overrides: no rules");
  for (const auto& r : p.config.layers) {
    validate_pattern(r);
    const auto matches = r.matcher();
    std::vector<std::string> hit;
    for (const auto& n : p.model.graph.nodes) {
      NodeQuant& q = p.nodes[static_cast<size_t>(n.id)];
      if (n.op == graph::Op::kInput || !matches(n.name, q.first, q.last)) continue;
      apply_rule(p, r, q);
      hit.push_back(n.name);
    }
    if (hit.empty()) {
      std::vector<std::string> names;
      for (const auto& n : p.model.graph.nodes) {
        if (graph::has_weight(n.op)) names.push_back(n.name);
      }
      throw QuantError(fmt::format("{}: layers rule '{}' matches no node of {} (its conv/linear nodes: {})",
                                   r.origin.empty() ? "layers" : r.origin, r.label(), p.model.graph.name,
                                   join(names)));
    }
    say(p, fmt::format("layer-overrides: '{}' on {} node(s): {}", r.label(), hit.size(), join(hit)));
  }
}

// What the quantizer after producer `id` is: the most bits among its quantized readers (SPEC §3.1's
// rule for the first/last layer's input), every reader agreeing on observer and scheme otherwise.
struct ActivationPlan {
  bool needed = false;
  QScheme scheme;
  std::string observer;
  std::string reader;  // the reader it was taken from, for a disagreement's message
  std::string rule;    // that reader's a_rule
};

// "layer1.0.conv1 (ema_mse 8-bit asym per-tensor, from the rule at s.yaml:9:7)".
std::string reader_text(const std::string& node, const std::string& observer, const QScheme& scheme,
                        const std::string& rule) {
  return fmt::format("{} ({} {}{})", node, observer, scheme.str(), rule.empty() ? "" : ", from the rule at " + rule);
}

std::vector<ActivationPlan> plan_activations(const Placement& p) {
  const auto& g = p.model.graph;
  std::vector<ActivationPlan> plans(g.nodes.size());
  for (const auto& n : g.nodes) {
    const NodeQuant& q = p.nodes[static_cast<size_t>(n.id)];
    if (!q.quantize_inputs || q.keep_float) continue;
    for (int in : n.inputs) {
      ActivationPlan& a = plans[static_cast<size_t>(in)];
      if (!a.needed) {
        a = {true, q.activation, q.a_observer, n.name, q.a_rule};
        continue;
      }
      if (a.observer != q.a_observer || a.scheme.symmetric != q.activation.symmetric) {
        throw QuantError(fmt::format("layers: '{}' is read by {} and by {}: its one quantizer cannot be both; give "
                                     "both readers the same a_observer and a_symmetric",
                                     g.node(in).name, reader_text(a.reader, a.observer, a.scheme, a.rule),
                                     reader_text(n.name, q.a_observer, q.activation, q.a_rule)));
      }
      if (q.activation.bits > a.scheme.bits) a.scheme = q.activation, a.reader = n.name, a.rule = q.a_rule;
    }
  }
  return plans;
}

void insert_quantizers(Placement& p) {
  require_assigned(p, "insert-quantizers");
  QuantizedModel& qm = p.model;
  graph::Graph& g = qm.graph;
  const auto plans = plan_activations(p);
  // Rebuild the node list with a quantizer after each planned producer; quantized readers read the
  // quantizer, float readers (keep_float) the producer itself.
  std::vector<graph::Node> nodes;
  std::vector<int> read_id(g.nodes.size(), -1), raw_id(g.nodes.size(), -1);
  for (const auto& old : g.nodes) {
    graph::Node n = old;
    n.id = static_cast<int>(nodes.size());
    const bool float_reader = p.nodes[static_cast<size_t>(old.id)].keep_float;
    for (int& in : n.inputs) in = float_reader ? raw_id[in] : read_id[in];
    nodes.push_back(n);
    read_id[old.id] = raw_id[old.id] = n.id;
    const ActivationPlan& a = plans[static_cast<size_t>(old.id)];
    if (!a.needed) continue;
    ObserverOptions opt;
    opt.scheme = a.scheme;
    opt.p = p.config.a_p;
    opt.ema_ratio = p.config.ema_ratio;
    graph::Node q;
    q.id = static_cast<int>(nodes.size());
    q.op = graph::Op::kFakeQuant;
    q.name = activation_quantizer_name(old.name);
    q.inputs = {n.id};
    q.attrs["quantizer"] = static_cast<int64_t>(qm.activations.size());
    q.attrs["bits"] = static_cast<int64_t>(a.scheme.bits);
    qm.activations.emplace_back(q.name, QuantSpec{a.observer, opt, p.config.a_fake_quant});
    nodes.push_back(q);
    read_id[old.id] = q.id;
  }
  for (int& o : g.outputs) o = read_id[o];
  // Weight quantizers, one per quantized conv/linear, in graph order.
  for (const auto& old : g.nodes) {
    const NodeQuant& q = p.nodes[static_cast<size_t>(old.id)];
    if (!graph::has_weight(old.op) || q.keep_float) continue;
    ObserverOptions opt;
    opt.scheme = q.weight;
    opt.p = p.config.w_p;
    opt.ema_ratio = p.config.ema_ratio;
    qm.weights.push_back({old.name, FakeQuant(old.name + ".weight_fake_quant", QuantSpec{q.w_observer, opt})});
  }
  g.nodes = std::move(nodes);
  g.validate();
  p.nodes.clear();  // ids changed: the records describe the graph before insertion
  p.inserted = true;
  say(p, fmt::format("insert-quantizers: {} activation and {} weight quantizers", qm.activations.size(),
                     qm.weights.size()));
}

const std::vector<std::pair<std::string, std::function<void(Placement&)>>>& table() {
  static const std::vector<std::pair<std::string, std::function<void(Placement&)>>> passes = {
      {"fold-bn", fold_bn},
      {"assign-defaults", assign_defaults},
      {"first-last-8bit", first_last_8bit},
      {"layer-overrides", layer_overrides},
      {"insert-quantizers", insert_quantizers},
  };
  return passes;
}

}  // namespace

Placement::Placement(const graph::Graph& fp32, const BackendPolicy& policy_, const CalibrationConfig& config_)
    : policy(policy_), config(config_) {
  model.backend = policy.name;
  model.graph = fp32.clone();
}

std::vector<std::string> placement_pass_names() {
  std::vector<std::string> names;
  for (const auto& [n, fn] : table()) names.push_back(n);
  return names;
}

void run_placement_pass(const std::string& name, Placement& p) {
  for (const auto& [n, fn] : table()) {
    if (n == name) return fn(p);
  }
  throw QuantError(unknown_name_message("placement pass", name, placement_pass_names()));
}

void run_backend_passes(Placement& p) {
  for (const auto& pass : p.policy.passes) run_placement_pass(pass, p);
  if (!p.inserted) throw QuantError(fmt::format("backend {}: its passes must end with insert-quantizers", p.policy.name));
}

}  // namespace qsweep::quant
