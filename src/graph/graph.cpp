// Graph storage, structural edits and the builder. Edits keep nodes[i].id == i by renumbering.
#include "graph/graph.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace qsweep::graph {

const char* op_name(Op op) {
  switch (op) {
    case Op::kInput: return "input";
    case Op::kConv2d: return "conv2d";
    case Op::kBatchNorm2d: return "batch_norm";
    case Op::kRelu: return "relu";
    case Op::kRelu6: return "relu6";
    case Op::kAdd: return "add";
    case Op::kMaxPool2d: return "max_pool2d";
    case Op::kAdaptiveAvgPool2d: return "adaptive_avg_pool2d";
    case Op::kMean: return "mean";
    case Op::kFlatten: return "flatten";
    case Op::kLinear: return "linear";
    case Op::kDropout: return "dropout";
    case Op::kFakeQuant: return "fake_quant";
  }
  return "?";
}

bool has_weight(Op op) { return op == Op::kConv2d || op == Op::kLinear; }

namespace {
template <typename T>
const T& get_attr(const Node& n, const std::string& key) {
  auto it = n.attrs.find(key);
  if (it == n.attrs.end()) throw GraphError(fmt::format("node '{}' ({}) has no attribute '{}'", n.name, op_name(n.op), key));
  if (const T* v = std::get_if<T>(&it->second)) return *v;
  throw GraphError(fmt::format("node '{}' attribute '{}' has another type", n.name, key));
}
}  // namespace

int64_t Node::attr_int(const std::string& key) const { return get_attr<int64_t>(*this, key); }
double Node::attr_double(const std::string& key) const { return get_attr<double>(*this, key); }
const std::vector<int64_t>& Node::attr_ints(const std::string& key) const {
  return get_attr<std::vector<int64_t>>(*this, key);
}

void ParamStore::add(const std::string& name, at::Tensor value, bool is_buffer) {
  if (contains(name)) throw GraphError(fmt::format("parameter '{}' defined twice", name));
  names_.push_back(name);
  index_.emplace(name, std::make_pair(std::move(value), is_buffer));
}

const at::Tensor& ParamStore::at(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw GraphError(fmt::format("no parameter '{}'", name));
  return it->second.first;
}

at::Tensor& ParamStore::at(const std::string& name) {
  auto it = index_.find(name);
  if (it == index_.end()) throw GraphError(fmt::format("no parameter '{}'", name));
  return it->second.first;
}

void ParamStore::set(const std::string& name, at::Tensor value) { at(name) = std::move(value); }

void ParamStore::remove(const std::string& name) {
  if (index_.erase(name) == 0) throw GraphError(fmt::format("no parameter '{}'", name));
  names_.erase(std::find(names_.begin(), names_.end(), name));
}

bool ParamStore::is_buffer(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw GraphError(fmt::format("no parameter '{}'", name));
  return it->second.second;
}

int64_t ParamStore::parameter_count() const {
  int64_t n = 0;
  for (const auto& [name, entry] : index_) {
    if (!entry.second) n += entry.first.numel();
  }
  return n;
}

int Graph::find(const std::string& node_name) const {
  for (const auto& n : nodes) {
    if (n.name == node_name) return n.id;
  }
  return -1;
}

void Graph::replace_uses(int from, int to) {
  for (auto& n : nodes) {
    if (n.id == to) continue;  // the replacement may itself read `from`
    for (int& in : n.inputs) {
      if (in == from) in = to;
    }
  }
  for (int& o : outputs) {
    if (o == from) o = to;
  }
}

void Graph::erase(const std::vector<int>& ids) {
  const std::set<int> gone(ids.begin(), ids.end());
  std::vector<int> remap(nodes.size(), -1);
  std::vector<Node> kept;
  for (auto& n : nodes) {
    if (gone.count(n.id)) continue;
    remap[n.id] = static_cast<int>(kept.size());
    kept.push_back(std::move(n));
  }
  for (auto& n : kept) {
    for (int& in : n.inputs) {
      if (gone.count(in)) throw GraphError(fmt::format("erase: node '{}' still reads an erased node", n.name));
      in = remap[in];
    }
    n.id = remap[n.id];
  }
  for (int& o : outputs) {
    if (gone.count(o)) throw GraphError("erase: an output node was erased");
    o = remap[o];
  }
  for (size_t i = 0; i < kept.size(); ++i) kept[i].id = static_cast<int>(i);
  nodes = std::move(kept);
}

int Graph::insert_after(int after, Node node) {
  const int pos = after + 1;
  for (auto& n : nodes) {
    for (int& in : n.inputs) {
      if (in >= pos) ++in;
    }
    if (n.id >= pos) ++n.id;
  }
  for (int& o : outputs) {
    if (o >= pos) ++o;
  }
  node.id = pos;
  nodes.insert(nodes.begin() + pos, std::move(node));
  return pos;
}

void Graph::validate() const {
  std::set<std::string> names;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    if (n.id != static_cast<int>(i)) throw GraphError(fmt::format("node '{}' has id {} at position {}", n.name, n.id, i));
    if (!names.insert(n.name).second) throw GraphError(fmt::format("node name '{}' is used twice", n.name));
    for (int in : n.inputs) {
      if (in < 0 || in >= n.id) {
        throw GraphError(fmt::format("node '{}' reads node {}, which does not precede it", n.name, in));
      }
    }
    const size_t arity = n.op == Op::kInput ? 0 : n.op == Op::kAdd ? 2 : 1;
    if (n.inputs.size() != arity) {
      throw GraphError(fmt::format("node '{}' ({}) has {} inputs, expected {}", n.name, op_name(n.op), n.inputs.size(), arity));
    }
    if (has_weight(n.op) && !has_param(n, "weight")) throw GraphError(fmt::format("node '{}' has no weight", n.name));
  }
  if (outputs.empty()) throw GraphError(fmt::format("graph '{}' has no output", name));
  for (int o : outputs) {
    if (o < 0 || o >= static_cast<int>(nodes.size())) throw GraphError("graph output out of range");
  }
}

Graph Graph::clone() const {
  Graph g;
  g.name = name;
  g.nodes = nodes;
  g.outputs = outputs;
  for (const auto& p : params.names()) g.params.add(p, params.at(p).clone(), params.is_buffer(p));
  return g;
}

c10::Device Graph::device() const {
  for (const auto& p : params.names()) return params.at(p).device();
  return c10::Device(c10::kCPU);
}

void Graph::to(c10::Device device) {
  for (const auto& p : params.names()) params.set(p, params.at(p).to(device));
}

Builder::Builder(std::string graph_name) { g_.name = std::move(graph_name); }

int Builder::push(Op op, const std::string& name, std::vector<int> inputs, std::map<std::string, AttrValue> attrs) {
  Node n;
  n.id = static_cast<int>(g_.nodes.size());
  n.op = op;
  n.name = name;
  n.inputs = std::move(inputs);
  n.attrs = std::move(attrs);
  g_.nodes.push_back(std::move(n));
  return g_.nodes.back().id;
}

int Builder::input(const std::string& name) { return push(Op::kInput, name, {}); }

int Builder::conv2d(const std::string& name, int in, int64_t cin, int64_t cout, int64_t kernel, int64_t stride,
                    int64_t padding, int64_t groups, bool bias) {
  if (cin % groups || cout % groups) {
    throw GraphError(fmt::format("conv '{}': channels {}→{} not divisible by groups {}", name, cin, cout, groups));
  }
  // torchvision: kaiming_normal_(mode="fan_out", nonlinearity="relu").
  const double std = std::sqrt(2.0 / static_cast<double>(cout * kernel * kernel));
  g_.params.add(name + ".weight", at::randn({cout, cin / groups, kernel, kernel}) * std, false);
  if (bias) g_.params.add(name + ".bias", at::zeros({cout}), false);
  return push(Op::kConv2d, name, {in},
              {{"stride", std::vector<int64_t>{stride, stride}},
               {"padding", std::vector<int64_t>{padding, padding}},
               {"dilation", std::vector<int64_t>{1, 1}},
               {"groups", groups}});
}

int Builder::batch_norm(const std::string& name, int in, int64_t channels, double eps, double momentum) {
  g_.params.add(name + ".weight", at::ones({channels}), false);
  g_.params.add(name + ".bias", at::zeros({channels}), false);
  g_.params.add(name + ".running_mean", at::zeros({channels}), true);
  g_.params.add(name + ".running_var", at::ones({channels}), true);
  g_.params.add(name + ".num_batches_tracked", at::zeros({}, at::kLong), true);
  return push(Op::kBatchNorm2d, name, {in}, {{"eps", eps}, {"momentum", momentum}});
}

int Builder::relu(const std::string& name, int in) { return push(Op::kRelu, name, {in}); }
int Builder::relu6(const std::string& name, int in) { return push(Op::kRelu6, name, {in}); }
int Builder::add(const std::string& name, int a, int b) { return push(Op::kAdd, name, {a, b}); }

int Builder::max_pool2d(const std::string& name, int in, int64_t kernel, int64_t stride, int64_t padding) {
  return push(Op::kMaxPool2d, name, {in},
              {{"kernel", std::vector<int64_t>{kernel, kernel}},
               {"stride", std::vector<int64_t>{stride, stride}},
               {"padding", std::vector<int64_t>{padding, padding}}});
}

int Builder::adaptive_avg_pool2d(const std::string& name, int in) {
  return push(Op::kAdaptiveAvgPool2d, name, {in}, {{"output_size", std::vector<int64_t>{1, 1}}});
}
int Builder::mean_hw(const std::string& name, int in) { return push(Op::kMean, name, {in}); }
int Builder::flatten(const std::string& name, int in) { return push(Op::kFlatten, name, {in}); }

int Builder::linear(const std::string& name, int in, int64_t fin, int64_t fout, bool bias) {
  // nn.Linear's default: kaiming_uniform_(a=√5) ⇒ U(−1/√fan_in, 1/√fan_in), bias likewise.
  const double bound = 1.0 / std::sqrt(static_cast<double>(fin));
  g_.params.add(name + ".weight", at::rand({fout, fin}) * (2 * bound) - bound, false);
  if (bias) g_.params.add(name + ".bias", at::rand({fout}) * (2 * bound) - bound, false);
  return push(Op::kLinear, name, {in});
}

int Builder::dropout(const std::string& name, int in, double p) { return push(Op::kDropout, name, {in}, {{"p", p}}); }

void Builder::output(int id) { g_.outputs.push_back(id); }

Graph Builder::finish() {
  g_.validate();
  return std::move(g_);
}

}  // namespace qsweep::graph
