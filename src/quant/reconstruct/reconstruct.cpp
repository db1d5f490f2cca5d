// The reconstruction loop (MQBench's ptq_reconstruction + subgraph_reconstruction) on the graph IR.
// Caching runs each node once per model over the whole reconstruction (forward_cache.h), and FP32
// input and target come from one cache.
#include "quant/reconstruct/reconstruct.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <chrono>
#include <map>
#include <memory>

#include "graph/executor.h"
#include "quant/fake_quant.h"
#include "quant/reconstruct/adam.h"
#include "quant/reconstruct/adaround.h"
#include "quant/reconstruct/drop.h"
#include "quant/reconstruct/forward_cache.h"
#include "support/collective.h"

namespace qsweep::quant::reconstruct {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Re-cuts cached batches into batches of `size` images (the last may be smaller).
std::vector<at::Tensor> rebatch(const std::vector<at::Tensor>& batches, int64_t size) {
  if (size <= 0 || batches.empty() || (batches.size() == 1 && batches[0].size(0) == size)) return batches;
  bool same = true;
  for (const auto& b : batches) same = same && b.size(0) == size;
  if (same) return batches;
  const auto all = at::cat(batches, 0);
  std::vector<at::Tensor> out;
  for (int64_t i = 0; i < all.size(0); i += size) out.push_back(all.narrow(0, i, std::min(size, all.size(0) - i)).clone());
  return out;
}

int64_t bytes_of(const std::vector<std::vector<at::Tensor>>& v) {
  int64_t n = 0;
  for (const auto& row : v) {
    for (const auto& t : row) n += t.numel() * static_cast<int64_t>(t.element_size());
  }
  return n;
}

// Sums the gradients of every trainable and the loss value `rec` over the group in one reduction
// (packed in one buffer), writes the sums back, and returns the summed loss.
double sum_gradients(std::vector<at::Tensor>& alphas, std::vector<at::Tensor>& scales, double rec,
                     const support::Collective& group) {
  std::vector<at::Tensor> flat;
  auto collect = [&](std::vector<at::Tensor>& params) {
    for (auto& p : params) {
      if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
      flat.push_back(p.grad().reshape({-1}));
    }
  };
  collect(alphas);
  collect(scales);
  flat.push_back(at::full({1}, rec, flat.empty() ? at::TensorOptions(at::kFloat) : flat.front().options()));
  auto buffer = at::cat(flat).contiguous();
  group.all_reduce(buffer, support::Reduce::kSum);
  int64_t offset = 0;
  auto scatter = [&](std::vector<at::Tensor>& params) {
    for (auto& p : params) {
      const int64_t n = p.numel();
      p.mutable_grad().copy_(buffer.narrow(0, offset, n).view_as(p));
      offset += n;
    }
  };
  scatter(alphas);
  scatter(scales);
  return buffer[offset].item<double>();
}

}  // namespace

const char* algorithm_name(Algorithm a) {
  switch (a) {
    case Algorithm::kNone: return "none";
    case Algorithm::kAdaRound: return "adaround";
    case Algorithm::kBrecq: return "brecq";
    case Algorithm::kQDrop: return "qdrop";
  }
  return "?";
}

std::vector<std::string> algorithm_names() { return {"adaround", "brecq", "qdrop"}; }

Algorithm algorithm_from_name(const std::string& name) {
  for (Algorithm a : {Algorithm::kNone, Algorithm::kAdaRound, Algorithm::kBrecq, Algorithm::kQDrop}) {
    if (name == algorithm_name(a)) return a;
  }
  throw QuantError(fmt::format("unknown reconstruction algorithm '{}'; known: none, adaround, brecq, qdrop", name));
}

Pattern ReconstructionConfig::pattern() const {
  return algorithm == Algorithm::kAdaRound ? Pattern::kLayer : Pattern::kBlock;
}

double ReconstructionConfig::keep_prob() const {
  if (prob) return *prob;
  return algorithm == Algorithm::kQDrop ? 0.5 : 1.0;
}

void ReconstructionConfig::validate() const {
  auto bad = [](const std::string& field, const std::string& value, const std::string& expected) {
    throw QuantError(fmt::format("reconstruction.{}: {} (expected {})", field, value, expected));
  };
  if (iterations < 1) bad("iterations", std::to_string(iterations), "≥ 1");
  if (!(warm_up >= 0 && warm_up < 1)) bad("warm_up", fmt::format("{}", warm_up), "in [0, 1)");
  if (round_weight && !(*round_weight >= 0)) bad("weight", fmt::format("{}", *round_weight), "≥ 0");
  if (!(lr > 0)) bad("lr", fmt::format("{}", lr), "> 0");
  if (!(scale_lr >= 0)) bad("scale_lr", fmt::format("{}", scale_lr), "≥ 0");
  if (!(b_start > 0 && b_end > 0)) bad("b_range", fmt::format("[{}, {}]", b_start, b_end), "positive exponents");
  const double p = keep_prob();
  if (!(p > 0 && p <= 1)) bad("prob", fmt::format("{}", p), "in (0, 1]");
  if (batch_size < 0) bad("batch_size", std::to_string(batch_size), "≥ 0 (0: the calibration batches)");
}

double default_round_weight(const std::string& model_name) {
  return model_name.find("mobilenet") != std::string::npos ? 0.1 : 0.01;
}

ReconstructionReport reconstruct(QuantizedModel& qm, const std::vector<at::Tensor>& calibration,
                                 const ReconstructionConfig& cfg, const ReconstructionLog& log,
                                 const support::Collective* group) {
  cfg.validate();
  if (cfg.algorithm == Algorithm::kNone) throw QuantError("reconstruct: algorithm is none");
  if (calibration.empty()) throw QuantError("reconstruct: the calibration set is empty");
  if (cfg.learns_activation_scales()) {
    for (const auto& a : qm.activations) {
      if (a.spec().kind != FakeQuantKind::kDividing) {
        throw QuantError(fmt::format("{}: {} learns activation scales and needs the dividing quantizer (SPEC §1.4); "
                                     "prepare with CalibrationConfig::a_fake_quant = kDividing",
                                     a.name(), algorithm_name(cfg.algorithm)));
      }
    }
  }
  const auto t_all = Clock::now();
  qm.set_mode(Mode::kQuantize);
  const graph::Graph fp32 = qm.graph.clone();  // the FP32 model: weights as on entry, quantizers off
  const auto units = partition(qm.graph, cfg.pattern());
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(cfg.seed);
  const at::Device cache_device(cfg.cache_device);
  ForwardCache fp_cache(fp32, calibration, cache_device);
  ForwardCache q_cache(qm.graph, calibration, cache_device);
  ReconstructionReport report;
  for (size_t ui = 0; ui < units.size(); ++ui) {
    const auto unit_log = [&](const std::string& line) {
      if (log) log(fmt::format("unit {}/{} {}", ui + 1, units.size(), line));
    };
    report.units.push_back(reconstruct_unit(qm, fp_cache, q_cache, units[ui], cfg, gen, unit_log, group));
    report.iterations += cfg.iterations;
  }
  report.seconds = since(t_all);
  return report;
}

UnitReport reconstruct_unit(QuantizedModel& qm, ForwardCache& fp32, ForwardCache& quantized, const Unit& unit,
                            const ReconstructionConfig& cfg, at::Generator& gen, const ReconstructionLog& log,
                            const support::Collective* group) {
  const bool split = support::grouped(group);
  const double lambda = cfg.round_weight ? *cfg.round_weight : default_round_weight(qm.graph.name);
  const double keep = cfg.keep_prob();
  const at::Device model_device = qm.graph.params.names().empty()
                                      ? at::Device(at::kCPU)
                                      : qm.graph.params.at(qm.graph.params.names().front()).device();
  const graph::ExecOptions fp_options;  // identity at every kFakeQuant node
  const auto base = qm.exec_options();
  UnitReport ur;
  ur.nodes = unit_node_names(qm.graph, unit);
  const auto t_cache = Clock::now();
  // 1. Cache: FP32 inputs (when dropping) and target in one FP pass; quantized inputs.
  std::vector<int> fp_wanted;
  if (keep < 1.0) fp_wanted = unit.inputs;
  fp_wanted.push_back(unit.output());
  auto fp_values = fp32.values(fp_wanted, fp_options);
  auto q_values = quantized.values(unit.inputs, base);
  const auto target = rebatch(fp_values.back(), cfg.batch_size);
  std::vector<std::vector<at::Tensor>> q_in, fp_in;
  for (size_t a = 0; a < unit.inputs.size(); ++a) {
    q_in.push_back(rebatch(q_values[a], cfg.batch_size));
    if (keep < 1.0) fp_in.push_back(rebatch(fp_values[a], cfg.batch_size));
  }
  fp_values.clear();
  q_values.clear();
  ur.cached_bytes = bytes_of(q_in) + bytes_of(fp_in) + bytes_of({target});
  ur.cache_seconds = since(t_cache);

  // 2. Trainables: α per layer, scale per in-unit activation quantizer (BRECQ, QDrop).
  const auto t_opt = Clock::now();
  std::map<int, std::unique_ptr<LearnedRounding>> rounding;
  std::vector<at::Tensor> alphas;
  for (int id : unit.layers) {
    const auto& name = qm.graph.node(id).name;
    const WeightQuantizer* wq = qm.weight_of(name);
    if (!wq) throw QuantError(fmt::format("reconstruct: layer '{}' has no weight quantizer", name));
    const auto& s = wq->quantizer.scheme();
    auto r = std::make_unique<LearnedRounding>(qm.graph.param(qm.graph.node(id), "weight"), wq->quantizer.qparams(),
                                               s.range(), s.axis());
    alphas.push_back(r->alpha());
    rounding[id] = std::move(r);
  }
  std::map<int, at::Tensor> scales;
  std::vector<at::Tensor> scale_params;
  if (cfg.learns_activation_scales()) {
    for (int id : unit.quantizers) {
      auto s = qm.activation_of(qm.graph.node(id)).qparams().scale.to(model_device).clone().requires_grad_(true);
      scales[id] = s;
      scale_params.push_back(s);
    }
  }
  Adam w_opt(alphas, cfg.lr);
  std::unique_ptr<Adam> a_opt;
  if (!scale_params.empty()) a_opt = std::make_unique<Adam>(scale_params, cfg.scale_lr);

  // Drop masks: their own stream, keyed by a draw from `gen`, so units differ and a seed repeats.
  DropMasks masks(static_cast<uint64_t>(at::randint(1LL << 62, {1}, gen, at::kLong).item<int64_t>()));
  support::Part part;  // this rank's samples of the step's batch (all of them outside a group)
  graph::ExecOptions opt;
  opt.weight = [&](const graph::Node& n, const at::Tensor& stored) {
    auto it = rounding.find(n.id);
    return it == rounding.end() ? base.weight(n, stored) : it->second->soft_weight();
  };
  opt.fake_quant = [&](const graph::Node& n, const at::Tensor& x) {
    auto& fq = qm.activation_of(n);
    at::Tensor y;
    auto it = scales.find(n.id);
    if (it != scales.end()) {
      y = fake_quantize_learnable(x, it->second, fq.qparams().zero_point.to(x.device()), fq.scheme().range(),
                                  fq.scheme().axis());
    } else {
      y = fq.forward(x);
    }
    if (keep < 1.0) y = at::where(masks.keep_mask(y.sizes(), keep, part.begin).to(y.device()), y, x);
    return y;
  };

  const int64_t nb = static_cast<int64_t>(target.size());
  for (int64_t t = 1; t <= cfg.iterations; ++t) {
    const int64_t idx = at::randint(nb, {1}, gen, at::kLong).item<int64_t>();
    const int64_t batch = target[idx].size(0);
    part = split ? support::part_of(batch, group->rank(), group->size()) : support::Part{0, batch};
    auto mine = [&](const at::Tensor& t) { return split ? t.narrow(0, part.begin, part.count) : t; };
    std::unordered_map<int, at::Tensor> ext;
    for (size_t a = 0; a < unit.inputs.size(); ++a) {
      auto inp = mine(q_in[a][idx]).to(model_device);
      if (keep < 1.0) {
        inp = at::where(masks.keep_mask(inp.sizes(), keep, part.begin).to(model_device), inp,
                        mine(fp_in[a][idx]).to(model_device));
      }
      ext[unit.inputs[a]] = inp;
    }
    const auto out = graph::run_nodes(qm.graph, unit.body, ext, {unit.output()}, opt).at(0);
    at::Tensor rec = (out - mine(target[idx]).to(model_device)).abs().pow(2.0).sum(1).mean();
    // A part's mean counts for its share of the batch: Σ parts = the whole batch's mean.
    if (split) rec = rec * (static_cast<double>(part.count) / static_cast<double>(batch));
    at::Tensor loss = rec, round;
    double round_value = 0;
    if (round_loss_active(t, cfg.iterations, cfg.warm_up) && !rounding.empty()) {
      const double beta = beta_at(t, cfg.iterations, cfg.warm_up, cfg.b_start, cfg.b_end);
      for (const auto& [id, r] : rounding) {
        const auto term = r->round_loss(beta) * lambda;
        round = round.defined() ? round + term : term;
      }
      loss = rec + round;
      round_value = round.item<double>();
    }
    w_opt.zero_grad();
    if (a_opt) a_opt->zero_grad();
    double rec_value = 0;
    if (!split) {
      loss.backward();
      rec_value = rec.item<double>();
    } else {
      // The data term's gradients differ per part and are summed; the rounding term depends on α
      // alone, is the same on every rank, and is added once after the sum.
      rec.backward();
      rec_value = sum_gradients(alphas, scale_params, rec.item<double>(), *group);
      if (round.defined()) round.backward();
    }
    w_opt.step();
    if (a_opt) {
      a_opt->step();
      a_opt->set_lr(cosine_lr(cfg.scale_lr, t, cfg.iterations));
    }
    if (t == 1) ur.first_rec = rec_value;
    if (t == cfg.iterations) {
      ur.final_rec = rec_value;
      ur.final_round = round_value;
    }
    if (log && cfg.log_every > 0 && t % cfg.log_every == 0) {
      log(fmt::format("({}): total {:.3f} (rec {:.3f}, round {:.3f}) b={:.2f} count={}", ur.nodes.back(), rec_value + round_value, rec_value, round_value,
                      beta_at(t, cfg.iterations, cfg.warm_up, cfg.b_start, cfg.b_end), t));
    }
  }
  // 3. Hard rounding into the weights; learned scales into the quantizers.
  for (const auto& [id, r] : rounding) qm.replace_weight(qm.graph.node(id).name, r->hard_weight());
  for (const auto& [id, s] : scales) qm.activation_of(qm.graph.node(id)).set_scale(s.detach());
  quantized.invalidate(unit.body);
  ur.optimise_seconds = since(t_opt);
  return ur;
}

}  // namespace qsweep::quant::reconstruct
