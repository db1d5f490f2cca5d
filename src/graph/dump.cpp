#include "graph/dump.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace qsweep::graph {
namespace {

std::string attr_str(const AttrValue& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) return fmt::format("{:g}", *d);
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  const auto& xs = std::get<std::vector<int64_t>>(v);
  std::string out = "[";
  for (size_t i = 0; i < xs.size(); ++i) out += (i ? "," : "") + std::to_string(xs[i]);
  return out + "]";
}

}  // namespace

void dump(const Graph& g, std::ostream& os) {
  os << fmt::format("graph {}: {} nodes, {} parameters ({} elements)\n", g.name, g.nodes.size(),
                    g.params.names().size(), g.params.parameter_count());
  for (const auto& n : g.nodes) {
    std::string ins;
    for (int in : n.inputs) ins += (ins.empty() ? "" : ", ") + g.node(in).name;
    std::string attrs;
    for (const auto& [k, v] : n.attrs) attrs += fmt::format(" {}={}", k, attr_str(v));
    std::string params;
    for (const char* role : {"weight", "bias"}) {
      if (g.has_param(n, role)) params += fmt::format(" {}{}", role, c10::str(g.param(n, role).sizes()));
    }
    os << fmt::format("%{:<4} {:<20} {:<28} ({}){}{}\n", n.id, op_name(n.op), n.name, ins, attrs, params);
  }
  std::string outs;
  for (int o : g.outputs) outs += (outs.empty() ? "" : ", ") + g.node(o).name;
  os << "outputs: " << outs << "\n";
}

}  // namespace qsweep::graph
