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
#include "models/zoo.h"
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

const char* algorithm_label(Algorithm a) {
  switch (a) {
    case Algorithm::kNone: return "None";
    case Algorithm::kAdaRound: return "AdaRound";
    case Algorithm::kBrecq: return "BRECQ";
    case Algorithm::kQDrop: return "QDrop";
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
  const models::ModelInfo* info = models::find_model(model_name);
  return info ? info->round_weight : models::ModelInfo{}.round_weight;
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

namespace {

// A unit's cached data, re-cut to the reconstruction batch size: its inputs as the quantized model
// computes them, as the FP32 model does (only when dropping), and the FP32 output to match.
struct UnitData {
  std::vector<std::vector<at::Tensor>> q_in, fp_in;  // [input][batch]
  std::vector<at::Tensor> target;                    // [batch]
};

// 1. One FP pass for the FP32 inputs (when dropping) and the target, one for the quantized inputs.
UnitData cache_unit(ForwardCache& fp32, ForwardCache& quantized, const Unit& unit, const graph::ExecOptions& base,
                    int64_t batch_size, double keep) {
  const graph::ExecOptions fp_options;  // identity at every kFakeQuant node
  std::vector<int> fp_wanted;
  if (keep < 1.0) fp_wanted = unit.inputs;
  fp_wanted.push_back(unit.output());
  auto fp_values = fp32.values(fp_wanted, fp_options);
  auto q_values = quantized.values(unit.inputs, base);
  UnitData d;
  d.target = rebatch(fp_values.back(), batch_size);
  for (size_t a = 0; a < unit.inputs.size(); ++a) {
    d.q_in.push_back(rebatch(q_values[a], batch_size));
    if (keep < 1.0) d.fp_in.push_back(rebatch(fp_values[a], batch_size));
  }
  return d;
}

// 2. What a unit learns: α per quantized layer, and (BRECQ, QDrop) the scale of each activation
// quantizer inside it.
struct Trainables {
  std::map<int, std::unique_ptr<LearnedRounding>> rounding;
  std::vector<at::Tensor> alphas;
  std::map<int, at::Tensor> scales;
  std::vector<at::Tensor> scale_params;
};

Trainables make_trainables(QuantizedModel& qm, const Unit& unit, const ReconstructionConfig& cfg,
                           const at::Device& model_device) {
  Trainables tr;
  for (int id : unit.layers) {
    const auto& name = qm.graph.node(id).name;
    const WeightQuantizer* wq = qm.weight_of(name);
    if (!wq) continue;  // kept float by a layers rule: nothing to round
    const auto& s = wq->quantizer.scheme();
    auto r = std::make_unique<LearnedRounding>(qm.graph.param(qm.graph.node(id), "weight"), wq->quantizer.qparams(),
                                               s.range(), s.axis());
    tr.alphas.push_back(r->alpha());
    tr.rounding[id] = std::move(r);
  }
  if (cfg.learns_activation_scales()) {
    for (int id : unit.quantizers) {
      auto s = qm.activation_of(qm.graph.node(id)).qparams().scale.to(model_device).clone().requires_grad_(true);
      tr.scales[id] = s;
      tr.scale_params.push_back(s);
    }
  }
  return tr;
}

// Whether a unit has anything to learn: a layer with a weight quantizer, or (BRECQ, QDrop) an
// activation quantizer inside it. Layers kept float by a per-layer rule have neither; a unit of
// only those is left as it is (and draws nothing from the generator).
bool learns_anything(const QuantizedModel& qm, const Unit& unit, const ReconstructionConfig& cfg) {
  for (int id : unit.layers) {
    if (qm.weight_of(qm.graph.node(id).name)) return true;
  }
  return cfg.learns_activation_scales() && !unit.quantizers.empty();
}

// The unit's forward while it learns: soft-rounded weights, learned scales, and QDrop's random
// mix of quantized and FP32 values (masks of this rank's samples, `part`).
graph::ExecOptions learning_options(QuantizedModel& qm, const Trainables& tr, const graph::ExecOptions& base,
                                    DropMasks& masks, const support::Part& part, double keep) {
  graph::ExecOptions opt;
  opt.weight = [&tr, base](const graph::Node& n, const at::Tensor& stored) {
    auto it = tr.rounding.find(n.id);
    return it == tr.rounding.end() ? base.weight(n, stored) : it->second->soft_weight();
  };
  opt.fake_quant = [&qm, &tr, &masks, &part, keep](const graph::Node& n, const at::Tensor& x) {
    auto& fq = qm.activation_of(n);
    at::Tensor y;
    auto it = tr.scales.find(n.id);
    if (it != tr.scales.end()) {
      y = fake_quantize_learnable(x, it->second, fq.qparams().zero_point.to(x.device()), fq.scheme().range(),
                                  fq.scheme().axis());
    } else {
      y = fq.forward(x);
    }
    if (keep < 1.0) y = at::where(masks.keep_mask(y.sizes(), keep, part.begin).to(y.device()), y, x);
    return y;
  };
  return opt;
}

// The losses of one step: reconstruction (this rank's share of the batch's mean) and rounding.
struct StepLoss {
  at::Tensor rec, round;
  double round_value = 0;
};

StepLoss step_loss(QuantizedModel& qm, const Unit& unit, const UnitData& d, Trainables& tr,
                   const graph::ExecOptions& opt, DropMasks& masks, const support::Part& part, int64_t idx,
                   int64_t batch, bool split, double keep, double lambda, int64_t t, const ReconstructionConfig& cfg,
                   const at::Device& model_device) {
  auto mine = [&](const at::Tensor& v) { return split ? v.narrow(0, part.begin, part.count) : v; };
  std::unordered_map<int, at::Tensor> ext;
  for (size_t a = 0; a < unit.inputs.size(); ++a) {
    auto inp = mine(d.q_in[a][idx]).to(model_device);
    if (keep < 1.0) {
      inp = at::where(masks.keep_mask(inp.sizes(), keep, part.begin).to(model_device), inp,
                      mine(d.fp_in[a][idx]).to(model_device));
    }
    ext[unit.inputs[a]] = inp;
  }
  const auto out = graph::run_nodes(qm.graph, unit.body, ext, {unit.output()}, opt).at(0);
  StepLoss l;
  l.rec = (out - mine(d.target[idx]).to(model_device)).abs().pow(2.0).sum(1).mean();
  // A part's mean counts for its share of the batch: Σ parts = the whole batch's mean.
  if (split) l.rec = l.rec * (static_cast<double>(part.count) / static_cast<double>(batch));
  if (round_loss_active(t, cfg.iterations, cfg.warm_up) && !tr.rounding.empty()) {
    const double beta = beta_at(t, cfg.iterations, cfg.warm_up, cfg.b_start, cfg.b_end);
    for (const auto& [id, r] : tr.rounding) {
      const auto term = r->round_loss(beta) * lambda;
      l.round = l.round.defined() ? l.round + term : term;
    }
    l.round_value = l.round.item<double>();
  }
  return l;
}

// Backward and optimiser steps; returns the reconstruction loss (summed over the group).
double step_backward(StepLoss& l, Trainables& tr, Adam& w_opt, Adam* a_opt, const support::Collective* group) {
  w_opt.zero_grad();
  if (a_opt) a_opt->zero_grad();
  double rec_value = 0;
  if (!support::grouped(group)) {
    (l.round.defined() ? l.rec + l.round : l.rec).backward();
    rec_value = l.rec.item<double>();
  } else {
    // The data term's gradients differ per part and are summed; the rounding term depends on α
    // alone, is the same on every rank, and is added once after the sum.
    l.rec.backward();
    rec_value = sum_gradients(tr.alphas, tr.scale_params, l.rec.item<double>(), *group);
    if (l.round.defined()) l.round.backward();
  }
  w_opt.step();
  return rec_value;
}

}  // namespace

UnitReport reconstruct_unit(QuantizedModel& qm, ForwardCache& fp32, ForwardCache& quantized, const Unit& unit,
                            const ReconstructionConfig& cfg, at::Generator& gen, const ReconstructionLog& log,
                            const support::Collective* group) {
  const bool split = support::grouped(group);
  const double lambda = cfg.round_weight ? *cfg.round_weight : default_round_weight(qm.graph.name);
  const double keep = cfg.keep_prob();
  const at::Device model_device = qm.graph.params.names().empty()
                                      ? at::Device(at::kCPU)
                                      : qm.graph.params.at(qm.graph.params.names().front()).device();
  const auto base = qm.exec_options();
  UnitReport ur;
  ur.nodes = unit_node_names(qm.graph, unit);
  if (!learns_anything(qm, unit, cfg)) return ur;  // every layer kept float by a layers rule
  const auto t_cache = Clock::now();
  const UnitData d = cache_unit(fp32, quantized, unit, base, cfg.batch_size, keep);
  ur.cached_bytes = bytes_of(d.q_in) + bytes_of(d.fp_in) + bytes_of({d.target});
  ur.cache_seconds = since(t_cache);

  const auto t_opt = Clock::now();
  Trainables tr = make_trainables(qm, unit, cfg, model_device);
  Adam w_opt(tr.alphas, cfg.lr);
  std::unique_ptr<Adam> a_opt;
  if (!tr.scale_params.empty()) a_opt = std::make_unique<Adam>(tr.scale_params, cfg.scale_lr);
  // Drop masks: their own stream, keyed by a draw from `gen`, so units differ and a seed repeats.
  DropMasks masks(static_cast<uint64_t>(at::randint(1LL << 62, {1}, gen, at::kLong).item<int64_t>()));
  support::Part part;  // this rank's samples of the step's batch (all of them outside a group)
  const graph::ExecOptions opt = learning_options(qm, tr, base, masks, part, keep);

  // 3. The steps: a random cached batch, forward, losses, backward, optimiser steps.
  const int64_t nb = static_cast<int64_t>(d.target.size());
  for (int64_t t = 1; t <= cfg.iterations; ++t) {
    const int64_t idx = at::randint(nb, {1}, gen, at::kLong).item<int64_t>();
    const int64_t batch = d.target[idx].size(0);
    part = split ? support::part_of(batch, group->rank(), group->size()) : support::Part{0, batch};
    StepLoss l = step_loss(qm, unit, d, tr, opt, masks, part, idx, batch, split, keep, lambda, t, cfg, model_device);
    const double rec_value = step_backward(l, tr, w_opt, a_opt.get(), group);
    if (a_opt) {
      a_opt->step();
      a_opt->set_lr(cosine_lr(cfg.scale_lr, t, cfg.iterations));
    }
    if (t == 1) ur.first_rec = rec_value;
    if (t == cfg.iterations) {
      ur.final_rec = rec_value;
      ur.final_round = l.round_value;
    }
    if (log && cfg.log_every > 0 && t % cfg.log_every == 0) {
      log(fmt::format("({}): total {:.3f} (rec {:.3f}, round {:.3f}) b={:.2f} count={}", ur.nodes.back(),
                      rec_value + l.round_value, rec_value, l.round_value,
                      beta_at(t, cfg.iterations, cfg.warm_up, cfg.b_start, cfg.b_end), t));
    }
  }
  // 4. Hard rounding into the weights; learned scales into the quantizers.
  for (const auto& [id, r] : tr.rounding) qm.replace_weight(qm.graph.node(id).name, r->hard_weight());
  for (const auto& [id, sc] : tr.scales) qm.activation_of(qm.graph.node(id)).set_scale(sc.detach());
  quantized.invalidate(unit.body);
  ur.optimise_seconds = since(t_opt);
  return ur;
}

}  // namespace qsweep::quant::reconstruct
