#include "pipeline/deploy_check.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <tuple>
#include <unordered_map>

#include "graph/executor.h"
#include "quant/quantized_model.h"

namespace qsweep::pipeline {
namespace {

// Images of the first evaluation batch the per-layer table compares.
constexpr int64_t kLayerGapImages = 32;

// Top-1/top-5 hits of `logits` against `labels`, and its top-1 classes.
at::Tensor count(const at::Tensor& logits, const at::Tensor& labels, Accuracy& acc) {
  const int64_t k = std::min<int64_t>(5, logits.size(1));
  const auto top = std::get<1>(logits.topk(k, 1));
  const auto hit = top.eq(labels.view({-1, 1}));
  acc.top1 += hit.select(1, 0).sum().item<int64_t>();
  acc.top5 += hit.any(1).sum().item<int64_t>();
  acc.total += logits.size(0);
  return top.select(1, 0);
}

// Largest difference and the fraction of elements that differ, at `n` (see LayerGap).
std::pair<double, double> gap_of(const at::Tensor& integer, const at::Tensor& simulated, double scale) {
  const at::Tensor diff = (integer - simulated).abs();
  const double tolerance = scale > 0 ? scale / 2 : 1e-5 * simulated.abs().max().item<double>();
  return {diff.max().item<double>(), diff.gt(tolerance).to(at::kDouble).mean().item<double>()};
}

std::vector<LayerGap> layer_gaps(quant::QuantizedModel& qm, const quant::IntegerModel& im, const at::Tensor& x) {
  std::unordered_map<int, at::Tensor> simulated;
  auto options = qm.exec_options();
  options.on_output = [&](const graph::Node& n, const at::Tensor& v) { simulated[n.id] = v; };
  graph::run(qm.graph, x, options);
  std::unordered_map<std::string, std::string> how;  // by the node a value is reported at
  for (const auto& step : im.steps()) {
    how[step.reported_at] = step.reported_at == step.node ? step.how : step.node + ": " + step.how;
  }
  std::vector<LayerGap> gaps;
  std::unordered_map<int, size_t> index;  // node id → gaps entry
  im.run(x, [&](const graph::Node& n, const at::Tensor& v) {
    auto it = simulated.find(n.id);
    if (it == simulated.end() || it->second.sizes() != v.sizes()) return;
    LayerGap gap;
    gap.node = n.name;
    if (n.op == graph::Op::kFakeQuant) gap.scale = qm.activation_of(n).qparams().scale.item<double>();
    std::tie(gap.max_abs_diff, gap.differing) = gap_of(v, it->second, gap.scale);
    auto h = how.find(n.name);
    if (h != how.end()) gap.how = h->second;
    index[n.id] = gaps.size();
    gaps.push_back(std::move(gap));
  });
  // Again, each quantizer fed the simulated values: what every layer adds on its own.
  im.run(
      x,
      [&](const graph::Node& n, const at::Tensor& v) {
        auto it = index.find(n.id);
        if (it == index.end()) return;
        LayerGap& gap = gaps[it->second];
        std::tie(gap.isolated_max_abs_diff, gap.isolated_differing) = gap_of(v, simulated.at(n.id), gap.scale);
      },
      [&](const graph::Node& n) {
        auto it = simulated.find(n.id);
        return it == simulated.end() ? at::Tensor() : it->second;
      });
  return gaps;
}

}  // namespace

DeployResult deploy_check(quant::QuantizedModel& qm, TaskData& data, const quant::ConvertOptions& options) {
  at::NoGradGuard no_grad;
  DeployResult r;
  const auto start = std::chrono::steady_clock::now();
  if (qm.graph.device().type() != c10::kCPU) {
    // LibTorch's integer kernels are CPU kernels; moving a GPU task's model for them is not done here.
    r.refused = fmt::format("the integer engines run on the CPU; this task ran on {}", qm.graph.device().str());
    return r;
  }
  try {
    const quant::QEngine engine = quant::select_qengine();
    r.engine = engine.name;
    r.engine_why = engine.why;
    const quant::IntegerModel im = quant::IntegerModel::convert(qm, options);
    const auto sim_options = qm.exec_options();
    bool first = true;
    data.for_each_eval_batch([&](const at::Tensor& x, const at::Tensor& y) {
      const at::Tensor ys = y.to(at::kCPU);
      // Every node's value is kept for the comparison: a slice bounds that memory on large models.
      if (first) r.layers = layer_gaps(qm, im, x.narrow(0, 0, std::min<int64_t>(kLayerGapImages, x.size(0))));
      first = false;
      const at::Tensor sim = count(graph::run(qm.graph, x, sim_options), ys, r.simulated);
      const at::Tensor integer = count(im.run(x), ys, r.integer);
      r.agree += sim.eq(integer).sum().item<int64_t>();
    });
  } catch (const quant::DeployRefusal& e) {
    r.refused = e.what();
  } catch (const c10::Error& e) {
    // An engine that cannot run what it accepted: the cell's simulated figures stand, the check says why.
    const std::string what = e.what_without_backtrace();
    r.refused = fmt::format("the {} engine failed: {}", r.engine, what.substr(0, what.find('\n')));
  } catch (const std::exception& e) {
    r.refused = fmt::format("the integer run failed: {}", e.what());
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace qsweep::pipeline
