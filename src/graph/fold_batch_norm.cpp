// FoldBatchNorm (passes.h). Folding happens in float32 with the eval-mode statistics, as
// torch.fx's fuse_conv_bn_eval does; the BN node and its parameters are removed.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <fmt/format.h>

#include "graph/passes.h"
#include "graph/topology.h"

namespace qsweep::graph {

Preserved FoldBatchNorm::run(Graph& g, PassContext& ctx) {
  const auto users = consumers(g);
  std::vector<int> folded;
  at::NoGradGuard no_grad;
  for (auto& bn : g.nodes) {
    if (bn.op != Op::kBatchNorm2d) continue;
    const int conv_id = bn.inputs[0];
    Node& conv = g.node(conv_id);
    if (conv.op != Op::kConv2d || users[conv_id].size() != 1 || is_output(g, conv_id)) continue;
    const auto inv_std = at::rsqrt(g.param(bn, "running_var") + bn.attr_double("eps"));
    const auto factor = g.param(bn, "weight") * inv_std;
    const auto w = g.param(conv, "weight");
    const auto b = g.has_param(conv, "bias") ? g.param(conv, "bias") : at::zeros({w.size(0)}, w.options());
    const auto new_w = w * factor.reshape({-1, 1, 1, 1});
    const auto new_b = (b - g.param(bn, "running_mean")) * factor + g.param(bn, "bias");
    g.params.set(conv.name + ".weight", new_w);
    if (g.has_param(conv, "bias")) {
      g.params.set(conv.name + ".bias", new_b);
    } else {
      g.params.add(conv.name + ".bias", new_b, false);
    }
    for (const char* role : {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}) {
      if (g.has_param(bn, role)) g.params.remove(bn.name + "." + role);
    }
    g.replace_uses(bn.id, conv_id);
    folded.push_back(bn.id);
    if (ctx.log) *ctx.log << fmt::format("fold-bn: {} into {}\n", bn.name, conv.name);
  }
  if (folded.empty()) return Preserved::kAll;
  g.erase(folded);
  return Preserved::kNone;
}

}  // namespace qsweep::graph
