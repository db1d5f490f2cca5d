// run_task: the calibration protocol of SPEC §4 (MQBench ptq.py) on the graph IR.
#include "pipeline/task.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "graph/executor.h"
#include "pipeline/calibrators.h"
#include "pipeline/deploy_check.h"
#include "quant/quantized_model.h"

namespace qsweep::pipeline {
namespace {

class Stopwatch {
 public:
  double lap() {
    const auto now = std::chrono::steady_clock::now();
    const double s = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    return s;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

std::vector<float> floats(const at::Tensor& t) {
  const auto c = t.detach().to(at::kCPU, at::kFloat).contiguous().reshape({-1});
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

QuantizerRecord record(const quant::FakeQuant& q, bool is_weight) {
  QuantizerRecord r;
  r.name = q.name();
  r.is_weight = is_weight;
  r.bits = q.scheme().bits;
  r.qmin = q.scheme().range().qmin;
  r.qmax = q.scheme().range().qmax;
  r.min_val = floats(q.observer().min_val());
  r.max_val = floats(q.observer().max_val());
  r.scale = floats(q.qparams().scale);
  const auto zp = q.qparams().zero_point.to(at::kInt).contiguous();
  r.zero_point.assign(zp.data_ptr<int32_t>(), zp.data_ptr<int32_t>() + zp.numel());
  return r;
}

double sqnr_db(const at::Tensor& x, const at::Tensor& q) {
  const auto xd = x.to(at::kDouble);
  const double signal = xd.pow(2).sum().item<double>();
  const double noise = (xd - q.to(at::kDouble)).pow(2).sum().item<double>();
  if (noise == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

// Each quantizer's SQNR on one batch, in kQuantize mode. Runs after evaluation and only reads the
// model (observers are off in kQuantize), so it cannot change any reported number. A weight's
// signal is the float weight the backend quantizes (BN-folded for TensorRT): `float_weights` by
// node where reconstruction has since replaced the stored weight by its learned rounding (against
// that rounded weight the quantizer is exact, and every AdaRound SQNR read +inf), else the stored one.
void measure_sqnr(quant::QuantizedModel& qm, const at::Tensor& batch, const std::map<std::string, at::Tensor>& float_weights,
                  std::vector<QuantizerRecord>& records) {
  at::NoGradGuard no_grad;
  std::map<std::string, double> by_name;
  auto options = qm.exec_options();
  const auto fake_quant = options.fake_quant;
  options.fake_quant = [&](const graph::Node& n, const at::Tensor& x) {
    auto y = fake_quant(n, x);
    by_name[qm.activation_of(n).name()] = sqnr_db(x, y);
    return y;
  };
  graph::run(qm.graph, batch.to(qm.graph.device()), options);
  const auto weight = qm.exec_options().weight;
  for (const auto& w : qm.weights) {
    const auto& node = qm.graph.node(qm.graph.find(w.node));
    const auto& stored = qm.graph.param(node, "weight");
    const auto f = float_weights.find(w.node);
    by_name[w.quantizer.name()] = sqnr_db(f == float_weights.end() ? stored : f->second, weight(node, stored));
  }
  for (auto& r : records) {
    auto it = by_name.find(r.name);
    if (it != by_name.end()) r.sqnr_db = it->second;
  }
}

// A group may not be larger than a calibration batch: every rank must observe part of each one.
void check_group_fits(TaskData& data, const support::Collective& group) {
  for (const auto& b : data.calibration_batches()) {
    if (b.size(0) < group.size()) {
      throw TaskError(fmt::format("a group of {} ranks cannot split a calibration batch of {} images", group.size(),
                                  b.size(0)));
    }
  }
}

// This rank's contiguous share of one batch (the whole batch outside a group).
at::Tensor my_part(const at::Tensor& batch, const support::Collective* group) {
  if (!support::grouped(group)) return batch;
  const auto p = support::part_of(batch.size(0), group->rank(), group->size());
  return batch.narrow(0, p.begin, p.count);
}

// Whether every rank of the group has `mine` (each rank keeps its own activation cache, filled by
// the tasks it ran: a group reuses statistics only if all its ranks skip the calibration together).
bool all_have(bool mine, const support::Collective* group) {
  if (!support::grouped(group)) return mine;
  auto flag = at::tensor(std::vector<int32_t>{mine ? 1 : 0}, at::kInt);
  group->all_reduce(flag, support::Reduce::kMin);
  return flag.item<int32_t>() == 1;
}

}  // namespace

TensorTaskData::TensorTaskData(std::vector<at::Tensor> calibration, at::Tensor eval_images, at::Tensor eval_labels,
                               int64_t eval_batch_size, std::string fingerprint)
    : calibration_(std::move(calibration)),
      images_(std::move(eval_images)),
      labels_(std::move(eval_labels)),
      batch_(eval_batch_size),
      fingerprint_(std::move(fingerprint)) {
  if (batch_ < 1) throw TaskError(fmt::format("evaluation batch size must be positive, got {}", batch_));
}

void TensorTaskData::for_each_eval_batch(const EvalVisitor& fn, std::optional<support::Part> part) {
  const int64_t first = part ? part->begin * batch_ : 0;
  const int64_t end = part ? std::min(images_.size(0), (part->begin + part->count) * batch_) : images_.size(0);
  for (int64_t b = first; b < end; b += batch_) {
    const int64_t n = std::min(batch_, images_.size(0) - b);
    fn(images_.narrow(0, b, n), labels_.narrow(0, b, n));
  }
}

const ActivationCache::Ranges* ActivationCache::find(const std::string& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

void ActivationCache::put(const std::string& key, Ranges ranges) { entries_[key] = std::move(ranges); }

std::string activation_cache_key(const TaskSpec& s, const std::string& data_fingerprint) {
  const auto& c = s.calib;
  // Per-layer rules change which activation quantizers exist and how they observe: part of the key.
  return fmt::format("{}|{}|{}|{}|a{}|p{}|r{}|sr{}{}", s.model_key, data_fingerprint, s.backend, c.a_observer, c.abit,
                     c.a_p, c.ema_ratio, c.symmetric_range,
                     c.layers.empty() ? "" : "|layers" + quant::rules_to_json(c.layers));
}

Accuracy evaluate(const graph::Graph& g, const graph::ExecOptions& options, TaskData& data,
                  const support::Collective* group) {
  at::NoGradGuard no_grad;
  Accuracy acc;
  const auto device = g.device();
  std::optional<support::Part> part;
  if (support::grouped(group)) part = support::part_of(data.eval_batch_count(), group->rank(), group->size());
  data.for_each_eval_batch([&](const at::Tensor& x, const at::Tensor& y) {
    const auto logits = graph::run(g, x.to(device), options);
    const int64_t k = std::min<int64_t>(5, logits.size(1));
    const auto top = std::get<1>(logits.topk(k, 1));
    const auto hit = top.eq(y.to(top.device()).view({-1, 1}));
    acc.top1 += hit.select(1, 0).sum().item<int64_t>();
    acc.top5 += hit.any(1).sum().item<int64_t>();
    acc.total += x.size(0);
  }, part);
  if (part) {
    auto counts = at::tensor(std::vector<int64_t>{acc.top1, acc.top5, acc.total}, at::kLong);
    group->all_reduce(counts, support::Reduce::kSum);
    acc = {counts[0].item<int64_t>(), counts[1].item<int64_t>(), counts[2].item<int64_t>()};
  }
  return acc;
}

TaskResult run_task(const graph::Graph& fp32, const TaskSpec& requested, TaskData& data, ActivationCache* cache,
                    const support::Collective* group) {
  const TaskSpec spec = resolve_calibrators(requested);
  TaskResult result;
  Stopwatch clock;
  if (support::grouped(group)) check_group_fits(data, *group);
  if (spec.fp32) {
    result.accuracy = evaluate(fp32, {}, data, group);
    result.seconds["evaluate"] = clock.lap();
    return result;
  }
  const auto& policy = quant::backend(spec.backend);
  auto qm = quant::prepare(fp32, policy, spec.calib);
  result.seconds["prepare"] = clock.lap();

  const std::string key = activation_cache_key(spec, data.fingerprint());
  const auto* cached = cache ? cache->find(key) : nullptr;
  if (!all_have(cached != nullptr && cached->size() == qm.activations.size(), group)) cached = nullptr;
  if (cached) {
    for (size_t i = 0; i < cached->size(); ++i) qm.activations[i].set_range((*cached)[i].first, (*cached)[i].second);
    result.activation_stats_reused = true;
  } else {
    at::NoGradGuard no_grad;
    qm.set_mode(quant::Mode::kCalibrateActivations);
    qm.set_group(group);
    const auto options = qm.exec_options();
    const auto& batches = data.calibration_batches();
    if (batches.empty()) throw TaskError("the calibration set is empty");
    const auto device = qm.graph.device();
    for (const auto& b : batches) graph::run(qm.graph, my_part(b, group).to(device), options);
    qm.set_group(nullptr);
    if (cache) {
      ActivationCache::Ranges ranges;
      for (const auto& a : qm.activations) ranges.emplace_back(a.observer().min_val(), a.observer().max_val());
      cache->put(key, std::move(ranges));
    }
  }
  result.seconds["calibrate_activations"] = clock.lap();
  qm.calibrate_weights();
  result.seconds["calibrate_weights"] = clock.lap();
  std::map<std::string, at::Tensor> float_weights;
  if (spec.reconstruction.algorithm != quant::reconstruct::Algorithm::kNone) {
    for (const auto& w : qm.weights) {
      float_weights[w.node] = qm.graph.param(qm.graph.node(qm.graph.find(w.node)), "weight").detach().clone();
    }
    result.reconstruction =
        quant::reconstruct::reconstruct(qm, data.calibration_batches(), spec.reconstruction, {}, group);
    result.seconds["reconstruct"] = clock.lap();
  }
  qm.set_mode(quant::Mode::kQuantize);
  result.accuracy = evaluate(qm.graph, qm.exec_options(), data, group);
  result.seconds["evaluate"] = clock.lap();
  for (const auto& a : qm.activations) result.quantizers.push_back(record(a, false));
  for (const auto& w : qm.weights) result.quantizers.push_back(record(w.quantizer, true));
  measure_sqnr(qm, data.calibration_batches().front(), float_weights, result.quantizers);
  result.seconds["measure_sqnr"] = clock.lap();
  if (spec.deploy_check && (group == nullptr || group->rank() == 0)) {
    result.deploy = deploy_check(qm, data);
    // The check evaluates the simulated model again; a different count would mean the row's
    // numbers are not reproducible, which no deployment figure can excuse.
    if (result.deploy->ran() && result.deploy->simulated.top1 != result.accuracy.top1) {
      throw TaskError(fmt::format("deploy check: the simulated model counted {} top-1 hits, the task {}",
                                  result.deploy->simulated.top1, result.accuracy.top1));
    }
    result.seconds["deploy_check"] = clock.lap();
  }
  return result;
}

}  // namespace qsweep::pipeline
