// The cost model: work per phase from the sweep, seconds from a fit of recorded phase times.
#include "sweep/cost_model.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <mutex>
#include <sstream>
#include <tuple>

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
  options.on_output = [&](const graph::Node& n, const at::Tensor& out) {
    if (!graph::has_weight(n.op)) return;
    // Each output element is one dot product over a weight row (in/groups · kh · kw, or in).
    const auto& weight = g.param(n, "weight");
    macs += static_cast<double>(out.numel()) * static_cast<double>(weight.numel() / weight.size(0));
    w.layers++;
  };
  graph::run(g, at::zeros({1, m.options.in_channels, image_size, image_size}), options);
  w.gmacs = macs * 1e-9;
  for (const auto& b : quant::backend_names()) {
    const auto qm = quant::prepare(g, quant::backend(b), quant::CalibrationConfig{});
    if (b == "academic") {
      w.blocks = static_cast<int>(quant::reconstruct::partition(qm.graph, quant::reconstruct::Pattern::kBlock).size());
    }
    double elements = 0;
    graph::ExecOptions count;
    count.on_output = [&](const graph::Node& n, const at::Tensor& out) {
      if (n.op == graph::Op::kFakeQuant) elements += static_cast<double>(out.numel());
    };
    graph::run(qm.graph, at::zeros({1, m.options.in_channels, image_size, image_size}), count);
    w.act_melems[b] = elements * 1e-6;
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

// a·x + b·y ≈ s, minimising Σ((a·x + b·y)/s − 1)², a, b ≥ 0.
std::pair<double, double> two_term_fit(const std::vector<std::tuple<double, double, double>>& xys) {
  double xx = 0, xy = 0, yy = 0, x1 = 0, y1 = 0;
  for (const auto& [x, y, s] : xys) {
    const double u = x / s, v = y / s;
    xx += u * u, xy += u * v, yy += v * v, x1 += u, y1 += v;
  }
  const double det = xx * yy - xy * xy;
  if (std::abs(det) > 1e-12 * std::max(1.0, xx * yy)) {
    const double a = (x1 * yy - y1 * xy) / det, b = (y1 * xx - x1 * xy) / det;
    if (a >= 0 && b >= 0) return {a, b};
  }
  // One term alone, whichever fits better.
  const double a = xx > 0 ? x1 / xx : 0, b = yy > 0 ? y1 / yy : 0;
  double err_a = 0, err_b = 0;
  for (const auto& [x, y, s] : xys) {
    err_a += std::pow(a * x / s - 1, 2);
    err_b += std::pow(b * y / s - 1, 2);
  }
  return err_a <= err_b ? std::make_pair(a, 0.0) : std::make_pair(0.0, b);
}

// a·x ≈ s − b·y for a known b, minimising Σ((a·x + b·y)/s − 1)², a ≥ 0.
double fit_with(const std::vector<std::tuple<double, double, double>>& xys, double b) {
  double xx = 0, xr = 0;
  for (const auto& [x, y, s] : xys) {
    xx += (x / s) * (x / s);
    xr += (x / s) * (1 - b * y / s);
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
  w.mparams = m.mparams, w.gmacs = m.gmacs;
  w.eval_images = data.eval_images > 0 ? static_cast<double>(data.eval_images) : kAssumedEvalImages;
  if (w.fp32) return w;
  const auto t = pipeline::resolve_calibrators(task_spec_of(c, c.model, s.seed));
  w.a_observer = observer_key(t.calib.a_observer, t.calib.a_p);
  w.w_observer = observer_key(t.calib.w_observer, t.calib.w_p);
  const auto elems = m.act_melems.find(quant::backend(c.backend).name);
  w.act_melems = elems == m.act_melems.end() ? 0.0 : elems->second;
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

PhaseSeconds predict(const CostFit& f, const TaskWork& w) {
  PhaseSeconds p;
  const double eval_work = w.eval_images * w.gmacs;
  if (w.fp32) {
    p.evaluate = f.eval_fp32 * eval_work;
    return p;
  }
  p.prepare = f.prepare * w.mparams;
  p.calibrate_activations = w.calib_images * (get(f.act_forward, w.a_observer, "ema_minmax") * w.gmacs +
                                              get(f.act_observe, w.a_observer, "ema_minmax") * w.act_melems);
  p.calibrate_weights = get(f.weights, w.w_observer, "minmax") * w.mparams;
  if (!w.algo.empty()) {
    p.reconstruct = w.iterations * (get(f.step, w.algo, "adaround") * w.units +
                                    get(f.image, w.algo, "adaround") * w.batch * w.gmacs);
  }
  p.evaluate = f.eval_quant * eval_work;
  if (w.deploy_check) p.deploy_check = (f.deploy > 0 ? f.deploy : f.eval_quant) * eval_work;
  return p;
}

CostFit fit_costs(const std::vector<CostSample>& samples, const std::string& reference, const std::string& source) {
  CostFit f;
  f.reference = reference, f.source = source;
  Ratio prepare, weights, eval_fp32, eval_quant, deploy;
  std::map<std::string, std::vector<std::tuple<double, double, double>>> recon, activations;
  for (const auto& s : samples) {
    const auto& w = s.work;
    const double eval_work = w.eval_images * w.gmacs;
    if (w.fp32) {
      eval_fp32.add("", s.measured.evaluate, eval_work);
      continue;
    }
    prepare.add("", s.measured.prepare, w.mparams);
    if (s.activations_measured && s.measured.calibrate_activations > 0) {
      activations[w.a_observer].emplace_back(w.calib_images * w.gmacs, w.calib_images * w.act_melems,
                                             s.measured.calibrate_activations);
    }
    weights.add(w.w_observer, s.measured.calibrate_weights, w.mparams);
    eval_quant.add("", s.measured.evaluate, eval_work);
    if (w.deploy_check) deploy.add("", s.measured.deploy_check, eval_work);
    if (!w.algo.empty() && s.measured.reconstruct > 0) {
      recon[w.algo].emplace_back(w.iterations * w.units, w.iterations * w.batch * w.gmacs, s.measured.reconstruct);
    }
  }
  const auto one = [](const Ratio& r) {
    const auto m = r.result();
    return m.empty() ? 0.0 : m.begin()->second;
  };
  f.prepare = one(prepare);
  for (const auto& [obs, xys] : activations) std::tie(f.act_forward[obs], f.act_observe[obs]) = two_term_fit(xys);
  f.weights = weights.result();
  f.eval_fp32 = one(eval_fp32);
  f.eval_quant = one(eval_quant);
  f.deploy = one(deploy);
  for (const auto& [algo, xys] : recon) {
    std::tie(f.step[algo], f.image[algo]) = two_term_fit(xys);
    // Samples of one model (or of models whose units and MACs are in proportion) cannot tell the
    // terms apart, and the fit may put everything on the per-step one; that would price AdaRound at
    // ImageNet scale at its small-model overhead. A step's forward and backward over the batch are
    // then taken to cost three evaluation forwards per image-GMAC, and the per-step term the rest.
    if (f.image[algo] == 0 && f.eval_quant > 0) {
      f.image[algo] = 3 * f.eval_quant;
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
                      {"weight_calibration_mparam", f.weights},
                      {"reconstruction_unit_step", f.step},
                      {"reconstruction_image_gmac", f.image},
                      {"fp32_eval_image_gmac", f.eval_fp32},
                      {"quantized_eval_image_gmac", f.eval_quant},
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
    f.weights = s.at("weight_calibration_mparam").get<std::map<std::string, double>>();
    f.step = s.at("reconstruction_unit_step").get<std::map<std::string, double>>();
    f.image = s.at("reconstruction_image_gmac").get<std::map<std::string, double>>();
    f.eval_fp32 = s.at("fp32_eval_image_gmac").get<double>();
    f.eval_quant = s.at("quantized_eval_image_gmac").get<double>();
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
