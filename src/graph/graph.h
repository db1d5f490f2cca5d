// The dataflow IR every model, backend and reconstruction step works on (DESIGN "The core idea").
//
//   graph::Builder b("tiny");
//   int x = b.input("x");
//   int c = b.conv2d("conv1", x, /*in=*/1, /*out=*/8, /*kernel=*/3, /*stride=*/1, /*padding=*/1);
//   int y = b.relu("relu", b.batch_norm("bn1", c, 8));
//   b.output(b.linear("fc", b.flatten("flatten", b.adaptive_avg_pool2d("avgpool", y)), 8, 10));
//   graph::Graph g = b.finish();
//   at::Tensor logits = graph::run(g, images);           // executor.h
//
// Nodes are stored in topological order and a node's id is its index. A node names the module it
// stands for ("layer1.0.conv1"); its parameters live in the graph's ordered store under
// "<node name>.<role>" (role: weight, bias, running_mean, ...), the names of the checkpoints users
// have. Model builders know nothing of quantization; passes (passes.h) transform graphs.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "support/error.h"

namespace qsweep::graph {

class GraphError : public Error {
 public:
  using Error::Error;
};

enum class Op {
  kInput,
  kConv2d,
  kBatchNorm2d,
  kRelu,
  kRelu6,
  kAdd,
  kMaxPool2d,
  kAdaptiveAvgPool2d,
  kMean,     // mean over H and W (MobileNetV2's x.mean([2, 3]))
  kFlatten,  // reshape(N, −1)
  kLinear,
  kDropout,
  kFakeQuant,  // a quantizer; attribute "quantizer" indexes the table the executor is given
};
const char* op_name(Op op);
bool has_weight(Op op);  // conv2d, linear (the layers that get weight quantizers)

using AttrValue = std::variant<int64_t, double, std::vector<int64_t>, std::string>;

struct Node {
  int id = -1;
  Op op = Op::kInput;
  std::string name;
  std::vector<int> inputs;
  std::map<std::string, AttrValue> attrs;

  int64_t attr_int(const std::string& key) const;
  double attr_double(const std::string& key) const;
  const std::vector<int64_t>& attr_ints(const std::string& key) const;
  bool has_attr(const std::string& key) const { return attrs.count(key) > 0; }
};

// Ordered parameters and buffers, state_dict-style.
class ParamStore {
 public:
  void add(const std::string& name, at::Tensor value, bool is_buffer);
  bool contains(const std::string& name) const { return index_.count(name) > 0; }
  const at::Tensor& at(const std::string& name) const;
  at::Tensor& at(const std::string& name);
  void set(const std::string& name, at::Tensor value);  // replace an existing entry
  void remove(const std::string& name);
  const std::vector<std::string>& names() const { return names_; }
  bool is_buffer(const std::string& name) const;
  int64_t parameter_count() const;  // elements of non-buffer entries (what papers report)

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, std::pair<at::Tensor, bool>> index_;
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;  // topological order, nodes[i].id == i
  std::vector<int> outputs;
  ParamStore params;

  const Node& node(int id) const { return nodes.at(id); }
  Node& node(int id) { return nodes.at(id); }
  int find(const std::string& node_name) const;  // −1 when absent
  const at::Tensor& param(const Node& n, const std::string& role) const { return params.at(n.name + "." + role); }
  bool has_param(const Node& n, const std::string& role) const { return params.contains(n.name + "." + role); }

  // Removes nodes (none may be an output or still have consumers) and renumbers ids.
  void erase(const std::vector<int>& ids);
  // Replaces every use of `from` as an input (and as an output) by `to`.
  void replace_uses(int from, int to);
  // Inserts `node` right after `after`, renumbering later ids; returns the new id.
  int insert_after(int after, Node node);
  // Checks topological order, ids, input arity and parameter presence; throws GraphError.
  void validate() const;
  // A deep copy whose tensors share no storage with this graph.
  Graph clone() const;
  // Where the parameters live (CPU for a graph without any).
  c10::Device device() const;
  // Moves every parameter and buffer to `device`.
  void to(c10::Device device);
};

// Emits nodes and initialised parameters (torchvision's initialisers; seed with at::manual_seed).
class Builder {
 public:
  explicit Builder(std::string graph_name);
  int input(const std::string& name = "x");
  int conv2d(const std::string& name, int in, int64_t cin, int64_t cout, int64_t kernel, int64_t stride = 1,
             int64_t padding = 0, int64_t groups = 1, bool bias = false);
  int batch_norm(const std::string& name, int in, int64_t channels, double eps = 1e-5, double momentum = 0.1);
  int relu(const std::string& name, int in);
  int relu6(const std::string& name, int in);
  int add(const std::string& name, int a, int b);
  int max_pool2d(const std::string& name, int in, int64_t kernel, int64_t stride, int64_t padding);
  int adaptive_avg_pool2d(const std::string& name, int in);
  int mean_hw(const std::string& name, int in);
  int flatten(const std::string& name, int in);
  int linear(const std::string& name, int in, int64_t fin, int64_t fout, bool bias = true);
  int dropout(const std::string& name, int in, double p);
  void output(int id);
  Graph finish();

 private:
  int push(Op op, const std::string& name, std::vector<int> inputs, std::map<std::string, AttrValue> attrs = {});
  Graph g_;
};

}  // namespace qsweep::graph
