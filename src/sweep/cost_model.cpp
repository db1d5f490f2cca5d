// The cost model: work per phase from the sweep, seconds from a fit of recorded phase times.
#include "sweep/cost_model.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <mutex>
#include <sstream>

#include "graph/executor.h"
#include "models/zoo.h"
#include "pipeline/calibrators.h"
#include "quant/backend.h"
#include "quant/quantized_model.h"
#include "quant/reconstruct/partition.h"
#include "sweep/cell_runner.h"

namespace qsweep::sweep {

namespace {

constexpr double kAssumedEvalImages = 50000;  // ImageNet's validation split

ModelWork measure(const ModelEntry& m, int64_t image_size) {
  at::NoGradGuard no_grad;
  const auto g = models::build_model(m.arch, m.options);
  ModelWork w;
  w.mparams = static_cast<double>(g.params.parameter_count()) * 1e-6;
  double macs = 0;
  graph::ExecOptions options;
  double elements = 0;
  options.on_output = [&](const graph::Node& n, const at::Tensor& out) {
    elements += static_cast<double>(out.numel());
    if (!graph::has_weight(n.op)) return;
    // Each output element is one dot product over a weight row (in/groups · kh · kw, or in).
    const auto& weight = g.param(n, "weight");
    macs += static_cast<double>(out.numel()) * static_cast<double>(weight.numel() / weight.size(0));
    w.layers++;
  };
  graph::run(g, at::zeros({1, m.options.in_channels, image_size, image_size}), options);
  w.gmacs = macs * 1e-9;
  w.melems = elements * 1e-6;
  w.nodes = static_cast<int>(g.nodes.size());
  for (const auto& b : quant::backend_names()) {
    const auto qm = quant::prepare(g, quant::backend(b), quant::CalibrationConfig{});
    if (b == "academic") {
      w.blocks = static_cast<int>(quant::reconstruct::partition(qm.graph, quant::reconstruct::Pattern::kBlock).size());
    }
    double observed = 0;
    graph::ExecOptions count;
    count.on_output = [&](const graph::Node& n, const at::Tensor& out) {
      if (n.op == graph::Op::kFakeQuant) observed += static_cast<double>(out.numel());
    };
    graph::run(qm.graph, at::zeros({1, m.options.in_channels, image_size, image_size}), count);
    w.act_melems[b] = observed * 1e-6;
    w.quant_nodes[b] = static_cast<int>(qm.graph.nodes.size());
  }
  return w;
}

// "ema_mse p=2.4" → "ema_mse".
std::string base_observer(const std::string& key) { return key.substr(0, key.find(' ')); }

// The observer with its p where the p changes the work (an MSE search's Lp norm).
std::string observer_key(const std::string& observer, double p) {
  if (observer.find("mse") == std::string::npos || p == 2.0) return observer;
  return fmt::format("{} p={}", observer, p);
}

double get(const std::map<std::string, double>& m, const std::string& key, const std::string& fallback) {
  for (const auto& k : {key, base_observer(key), fallback}) {
    if (auto it = m.find(k); it != m.end()) return it->second;
  }
  for (const auto& [k, v] : m) {
    if (base_observer(k) == base_observer(key)) return v;
  }
  return m.empty() ? 0.0 : m.begin()->second;
}

// Samples of one phase: its work terms and the seconds measured.
struct Sample {
  std::vector<double> x;
  double seconds;
};

// c ≥ 0 minimising Σ((c·x)/s − 1)² (least squares on the relative error): every subset of the
// terms is solved by its normal equations and the best one with no negative coefficient wins
// (three terms at most: seven subsets).
std::vector<double> nonneg_fit(const std::vector<Sample>& samples, size_t terms) {
  std::vector<double> best(terms, 0.0);
  double best_error = std::numeric_limits<double>::infinity();
  for (unsigned mask = 1; mask < (1u << terms); ++mask) {
    std::vector<size_t> on;
    for (size_t j = 0; j < terms; ++j) {
      if (mask & (1u << j)) on.push_back(j);
    }
    const size_t n = on.size();
    std::vector<std::vector<double>> a(n, std::vector<double>(n + 1, 0.0));  // [A | b]
    for (const auto& smp : samples) {
      for (size_t r = 0; r < n; ++r) {
        const double u = smp.x[on[r]] / smp.seconds;
        for (size_t c = 0; c < n; ++c) a[r][c] += u * smp.x[on[c]] / smp.seconds;
        a[r][n] += u;
      }
    }
    bool singular = false;
    for (size_t k = 0; k < n && !singular; ++k) {  // Gauss-Jordan with partial pivoting
      size_t pivot = k;
      for (size_t r = k + 1; r < n; ++r) {
        if (std::abs(a[r][k]) > std::abs(a[pivot][k])) pivot = r;
      }
      std::swap(a[k], a[pivot]);
      if (std::abs(a[k][k]) < 1e-300) {
        singular = true;
        break;
      }
      for (size_t r = 0; r < n; ++r) {
        if (r == k) continue;
        const double f = a[r][k] / a[k][k];
        for (size_t c = k; c <= n; ++c) a[r][c] -= f * a[k][c];
      }
    }
    if (singular) continue;
    std::vector<double> c(terms, 0.0);
    bool negative = false;
    for (size_t k = 0; k < n; ++k) {
      c[on[k]] = a[k][n] / a[k][k];
      negative = negative || c[on[k]] < 0 || !std::isfinite(c[on[k]]);
    }
    if (negative) continue;
    double error = 0;
    for (const auto& smp : samples) {
      double p = 0;
      for (size_t j = 0; j < terms; ++j) p += c[j] * smp.x[j];
      error += std::pow(p / smp.seconds - 1, 2);
    }
    // A subset that fits as well with fewer terms is preferred (ties within rounding).
    if (error < best_error * (1 - 1e-9)) best_error = error, best = c;
  }
  return best;
}

// c₀ ≥ 0 for the first term when the second's coefficient is fixed at `b`.
double fit_with(const std::vector<Sample>& samples, double b) {
  double xx = 0, xr = 0;
  for (const auto& smp : samples) {
    const double u = smp.x[0] / smp.seconds;
    xx += u * u;
    xr += u * (1 - b * smp.x[1] / smp.seconds);
  }
  return xx > 0 ? std::max(0.0, xr / xx) : 0.0;
}

// Σ seconds ÷ Σ work over samples, per key.
struct Ratio {
  std::map<std::string, std::pair<double, double>> sums;
  void add(const std::string& key, double seconds, double work) {
    if (work <= 0) return;
    sums[key].first += seconds, sums[key].second += work;
  }
  std::map<std::string, double> result() const {
    std::map<std::string, double> out;
    for (const auto& [k, s] : sums) out[k] = s.first / s.second;
    return out;
  }
};

}  // namespace

int64_t work_image_size(const ModelEntry& m, const DataFacts& data) {
  return data.image_size > 0 ? data.image_size : (m.options.small_input ? 32 : 224);
}

ModelWork model_work(const ModelEntry& m, int64_t image_size) {
  static std::mutex mutex;
  static std::map<std::string, ModelWork> measured;
  const std::string key = fmt::format("{}|{}|{}|{}|{}|{}", m.arch, m.options.num_classes, m.options.in_channels,
                                      m.options.width, m.options.small_input, image_size);
  std::lock_guard<std::mutex> lock(mutex);
  auto it = measured.find(key);
  if (it == measured.end()) it = measured.emplace(key, measure(m, image_size)).first;
  return it->second;
}

TaskWork task_work(const SweepSpec& s, const Cell& c, const ModelWork& m, const DataFacts& data) {
  TaskWork w;
  w.fp32 = c.fp32();
  w.mparams = m.mparams, w.gmacs = m.gmacs, w.melems = m.melems;
  w.eval_images = data.eval_images > 0 ? static_cast<double>(data.eval_images) : kAssumedEvalImages;
  w.eval_batches = std::ceil(w.eval_images / std::max(1, s.data.eval_batch_size));
  w.nodes = m.nodes;
  if (w.fp32) return w;
  const auto t = pipeline::resolve_calibrators(task_spec_of(c, c.model, s.seed));
  w.a_observer = observer_key(t.calib.a_observer, t.calib.a_p);
  w.w_observer = observer_key(t.calib.w_observer, t.calib.w_p);
  const auto elems = m.act_melems.find(quant::backend(c.backend).name);
  w.act_melems = elems == m.act_melems.end() ? 0.0 : elems->second;
  if (const auto q = m.quant_nodes.find(quant::backend(c.backend).name); q != m.quant_nodes.end()) w.nodes = q->second;
  w.calib_batches = s.data.calibration_batches;
  w.calib_images = static_cast<double>(s.data.calibration_batches) * s.data.batch_size;
  w.deploy_check = t.deploy_check;
  if (t.reconstruction.algorithm != quant::reconstruct::Algorithm::kNone) {
    w.algo = quant::reconstruct::algorithm_name(t.reconstruction.algorithm);
    w.iterations = static_cast<double>(c.options.iterations);
    w.batch = static_cast<double>(t.reconstruction.batch_size > 0 ? t.reconstruction.batch_size : s.data.batch_size);
    w.units = t.reconstruction.pattern() == quant::reconstruct::Pattern::kLayer ? m.layers : m.blocks;
  }
  return w;
}

double forward_seconds(const CostFit& f, const TaskWork& w) {
  return f.eval_quant * w.gmacs + f.eval_quant_elems * w.melems;
}

PhaseSeconds predict(const CostFit& f, const TaskWork& w) {
  PhaseSeconds p;
  const double eval_work = w.eval_images * w.gmacs, eval_elems = w.eval_images * w.melems;
  if (w.fp32) {
    p.evaluate = f.eval_fp32 * eval_work + f.eval_fp32_elems * eval_elems + f.eval_fp32_nodes * w.eval_batches * w.nodes;
    return p;
  }
  p.prepare = f.prepare * w.mparams;
  p.calibrate_activations = w.calib_images * (get(f.act_forward, w.a_observer, "ema_minmax") * w.melems +
                                              get(f.act_observe, w.a_observer, "ema_minmax") * w.act_melems) +
                            get(f.act_nodes, w.a_observer, "ema_minmax") * w.calib_batches * w.nodes;
  p.calibrate_weights = get(f.weights, w.w_observer, "minmax") * w.mparams;
  if (!w.algo.empty()) {
    p.reconstruct = w.iterations * (get(f.step, w.algo, "adaround") * w.units +
                                    get(f.image, w.algo, "adaround") * w.batch * forward_seconds(f, w));
  }
  p.evaluate = f.eval_quant * eval_work + f.eval_quant_elems * eval_elems + f.eval_quant_nodes * w.eval_batches * w.nodes;
  if (w.deploy_check) p.deploy_check = (f.deploy > 0 ? f.deploy : f.eval_quant) * eval_work;
  return p;
}

CostFit fit_costs(const std::vector<CostSample>& samples, const std::string& reference, const std::string& source) {
  CostFit f;
  f.reference = reference, f.source = source;
  Ratio prepare, weights, deploy;
  std::map<std::string, std::vector<Sample>> activations, evaluation;
  std::map<std::string, std::vector<const CostSample*>> recon_samples;  // priced after the evaluation
  for (const auto& s : samples) {
    const auto& w = s.work;
    const double eval_work = w.eval_images * w.gmacs;
    if (s.measured.evaluate > 0) {
      evaluation[w.fp32 ? "fp32" : "quant"].push_back(
          {{eval_work, w.eval_images * w.melems, w.eval_batches * w.nodes}, s.measured.evaluate});
    }
    if (w.fp32) continue;
    prepare.add("", s.measured.prepare, w.mparams);
    if (s.activations_measured && s.measured.calibrate_activations > 0) {
      activations[w.a_observer].push_back({{w.calib_images * w.melems, w.calib_images * w.act_melems,
                                            w.calib_batches * w.nodes},
                                           s.measured.calibrate_activations});
    }
    weights.add(w.w_observer, s.measured.calibrate_weights, w.mparams);
    if (w.deploy_check) deploy.add("", s.measured.deploy_check, eval_work);
    if (!w.algo.empty() && s.measured.reconstruct > 0) recon_samples[w.algo].push_back(&s);
  }
  const auto one = [](const Ratio& r) {
    const auto m = r.result();
    return m.empty() ? 0.0 : m.begin()->second;
  };
  f.prepare = one(prepare);
  for (const auto& [obs, list] : activations) {
    const auto c = nonneg_fit(list, 3);
    f.act_forward[obs] = c[0], f.act_observe[obs] = c[1], f.act_nodes[obs] = c[2];
  }
  f.weights = weights.result();
  if (evaluation.count("fp32")) {
    const auto c = nonneg_fit(evaluation["fp32"], 3);
    f.eval_fp32 = c[0], f.eval_fp32_elems = c[1], f.eval_fp32_nodes = c[2];
  }
  if (evaluation.count("quant")) {
    const auto c = nonneg_fit(evaluation["quant"], 3);
    f.eval_quant = c[0], f.eval_quant_elems = c[1], f.eval_quant_nodes = c[2];
  }
  f.deploy = one(deploy);
  for (const auto& [algo, list] : recon_samples) {
    std::vector<Sample> xys;
    for (const auto* s : list) {
      const auto& w = s->work;
      xys.push_back({{w.iterations * w.units, w.iterations * w.batch * forward_seconds(f, w)}, s->measured.reconstruct});
    }
    const auto c = nonneg_fit(xys, 2);
    f.step[algo] = c[0], f.image[algo] = c[1];
    // Samples of one model (or of models whose units and work are in proportion) cannot tell the
    // terms apart, and the fit may put everything on the per-step one; that would price AdaRound at
    // ImageNet scale at its small-model overhead. A step's forward and backward over the batch are
    // then taken to cost three evaluation forwards, and the per-step term the rest.
    if (f.image[algo] == 0) {
      f.image[algo] = 3;
      f.step[algo] = fit_with(xys, f.image[algo]);
    }
  }
  return f;
}

std::vector<ClassError> fit_errors(const CostFit& fit, const std::vector<CostSample>& samples) {
  std::vector<ClassError> out;
  ClassError all{"all tasks"};
  const auto add = [](ClassError& e, double measured, double predicted) {
    const double err = measured > 0 ? std::abs(predicted - measured) / measured : 0;
    e.mean_abs_error = (e.mean_abs_error * e.tasks + err) / (e.tasks + 1);
    e.max_abs_error = std::max(e.max_abs_error, err);
    e.tasks++;
    e.measured += measured, e.predicted += predicted;
  };
  for (const auto& s : samples) {
    auto p = predict(fit, s.work);
    // A task whose statistics came from the cache did not pay for them: neither side counts them.
    auto measured = s.measured;
    if (!s.activations_measured) p.calibrate_activations = measured.calibrate_activations = 0;
    auto it = std::find_if(out.begin(), out.end(), [&](const ClassError& e) { return e.task_class == s.task_class; });
    if (it == out.end()) it = out.insert(out.end(), ClassError{s.task_class});
    add(*it, measured.total(), p.total());
    add(all, measured.total(), p.total());
  }
  out.push_back(all);
  return out;
}

std::string format_fit_errors(const std::vector<ClassError>& errors) {
  std::string text = fmt::format("{:<28} {:>5} {:>12} {:>12} {:>8} {:>10} {:>10}\n", "task class", "tasks",
                                 "measured s", "predicted s", "ratio", "mean |err|", "max |err|");
  for (const auto& e : errors) {
    text += fmt::format("{:<28} {:>5} {:>12.1f} {:>12.1f} {:>8.2f} {:>9.1f}% {:>9.1f}%\n", e.task_class, e.tasks,
                        e.measured, e.predicted, e.measured > 0 ? e.predicted / e.measured : 0.0,
                        100 * e.mean_abs_error, 100 * e.max_abs_error);
  }
  return text;
}

std::string cost_fit_json(const CostFit& f) {
  nlohmann::json j;
  j["reference"] = f.reference;
  j["source"] = f.source;
  j["seconds_per"] = {{"prepare_mparam", f.prepare},
                      {"activation_calibration_image_gmac", f.act_forward},
                      {"activation_calibration_observed_melement", f.act_observe},
                      {"activation_calibration_batch_node", f.act_nodes},
                      {"weight_calibration_mparam", f.weights},
                      {"reconstruction_unit_step", f.step},
                      {"reconstruction_image_forwards", f.image},
                      {"fp32_eval_image_gmac", f.eval_fp32},
                      {"fp32_eval_image_melement", f.eval_fp32_elems},
                      {"fp32_eval_batch_node", f.eval_fp32_nodes},
                      {"quantized_eval_image_gmac", f.eval_quant},
                      {"quantized_eval_image_melement", f.eval_quant_elems},
                      {"quantized_eval_batch_node", f.eval_quant_nodes},
                      {"deploy_check_image_gmac", f.deploy}};
  return j.dump(2) + "\n";
}

CostFit cost_fit_from_json(const std::string& text, const std::string& where) {
  try {
    const auto j = nlohmann::json::parse(text);
    const auto& s = j.at("seconds_per");
    CostFit f;
    f.reference = j.at("reference").get<std::string>();
    f.source = j.at("source").get<std::string>();
    f.prepare = s.at("prepare_mparam").get<double>();
    f.act_forward = s.at("activation_calibration_image_gmac").get<std::map<std::string, double>>();
    f.act_observe = s.at("activation_calibration_observed_melement").get<std::map<std::string, double>>();
    f.act_nodes = s.at("activation_calibration_batch_node").get<std::map<std::string, double>>();
    f.weights = s.at("weight_calibration_mparam").get<std::map<std::string, double>>();
    f.step = s.at("reconstruction_unit_step").get<std::map<std::string, double>>();
    f.image = s.at("reconstruction_image_forwards").get<std::map<std::string, double>>();
    f.eval_fp32 = s.at("fp32_eval_image_gmac").get<double>();
    f.eval_fp32_elems = s.at("fp32_eval_image_melement").get<double>();
    f.eval_fp32_nodes = s.at("fp32_eval_batch_node").get<double>();
    f.eval_quant = s.at("quantized_eval_image_gmac").get<double>();
    f.eval_quant_elems = s.at("quantized_eval_image_melement").get<double>();
    f.eval_quant_nodes = s.at("quantized_eval_batch_node").get<double>();
    f.deploy = s.at("deploy_check_image_gmac").get<double>();
    return f;
  } catch (const nlohmann::json::exception& e) {
    throw SweepError(fmt::format("{}: not a cost fit (qsweep plan --costs-from ... --save-costs writes one): {}",
                                 where, e.what()));
  }
}

CostFit load_cost_fit(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw SweepError(path + ": cannot read the cost fit");
  std::stringstream text;
  text << in.rdbuf();
  return cost_fit_from_json(text.str(), path);
}

void save_cost_fit(const CostFit& fit, const std::string& path) {
  std::ofstream out(path);
  out << cost_fit_json(fit);
  out.close();
  if (!out) throw SweepError(path + ": cannot write the cost fit");
}

}  // namespace qsweep::sweep
