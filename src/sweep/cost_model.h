// What a task costs, in seconds of a stated reference (one rank of a named machine), phase by
// phase: each phase's seconds are a fitted coefficient times the work the phase does, and the
// coefficients are fitted from the phase seconds that results files record (`qsweep plan
// --costs-from RESULTS.h5`). Longest-first scheduling, `--group-size auto`, `plan`'s makespan and
// `run`'s ETA rest on it (docs/groups.md "The cost model").
//
//   TaskWork w = task_work(spec, cell, model_work(spec.model(cell.model), 32), data);  // no data read
//   double s = predict(default_cost_fit(), w).total();                                 // seconds
//   CostFit f = fit_costs(samples, "one rank of ...", "results/demo.h5");              // refit
//
// The work of a phase (per task, from the sweep alone):
//   prepare              c_prepare · M                  M: the model's weights, millions
//   calibrate activations N_calib · (f[obs] · A + o[obs] · E) + n[obs] · B_calib · K
//                                                        G: GMACs of one image at the data's size,
//                                                        A: elements of all its node outputs (memory),
//                                                        E: activation elements its quantizers observe
//   calibrate weights    w[weight observer] · M          obs: the observer and its p ("ema_mse p=2.4")
//   reconstruct          iterations · (s[algo] · U + g[algo] · batch · F)   U: units (layers or blocks),
//                                                        F: one fake-quantized evaluation forward's seconds
//   evaluate             N_eval · (e_g · G + e_a · A) + e_n · B_eval · K, FP32 and fake-quantized apart
//                                                        B: batches, K: graph nodes (a per-node-call
//                                                        overhead that dominates on small models)
//   deploy check         d · N_eval · G (the fake-quantized evaluation's when the fit has no deploy rows)
// The per-unit term is what makes AdaRound on small models cost more than its FLOPs say: each of
// its thousands of steps has a fixed overhead (optimizer, kernel launches on tiny tensors).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sweep/sweep_spec.h"

namespace qsweep::sweep {

// Facts of a model at the data's image size, measured on its graph (builder only, no checkpoint).
struct ModelWork {
  double gmacs = 0;     // multiply-accumulates of one image's forward, ×1e-9
  double mparams = 0;   // weights, millions
  double melems = 0;    // elements of every node output of one image's forward, millions
  int nodes = 0;        // nodes of the FP32 graph
  int layers = 0;       // conv + linear nodes: AdaRound's units
  int blocks = 0;       // BRECQ/QDrop units (reconstruct::partition, block pattern)
  // Per backend: elements of one image's activations that its quantizers see, millions.
  std::map<std::string, double> act_melems;
  std::map<std::string, int> quant_nodes;  // per backend: nodes of the quantized graph
};

// The data facts the work depends on: read from the shard headers when they can be read.
struct DataFacts {
  int64_t eval_images = 0;  // 0: unknown, 50 000 (ImageNet's validation split) assumed
  int64_t image_size = 0;   // height = width of the eval images; 0: unknown (32 for small_input models, else 224)
};

// Measured once per (arch, options, image size) in a process and remembered.
ModelWork model_work(const ModelEntry& model, int64_t image_size);

// The image size `model_work` is measured at for `data`: the shard's, else the assumption above.
int64_t work_image_size(const ModelEntry& model, const DataFacts& data);

struct TaskWork {
  bool fp32 = false;
  // The observers as run (a reconstruction's resolved ones), with an MSE search's p when not 2:
  // "ema_mse p=2.4"; algo: "" or adaround|brecq|qdrop.
  std::string a_observer, w_observer, algo;
  double mparams = 0, gmacs = 0, melems = 0, act_melems = 0;
  double calib_images = 0, eval_images = 0, batch = 0, iterations = 0, units = 0;
  double calib_batches = 0, eval_batches = 0, nodes = 0;  // nodes of the graph the task runs
  bool deploy_check = false;
};

TaskWork task_work(const SweepSpec& spec, const Cell& cell, const ModelWork& model, const DataFacts& data);

// Seconds per phase, the keys results rows use (seconds_<phase>).
struct PhaseSeconds {
  double prepare = 0, calibrate_activations = 0, calibrate_weights = 0, reconstruct = 0, evaluate = 0,
         deploy_check = 0;
  double total() const {
    return prepare + calibrate_activations + calibrate_weights + reconstruct + evaluate + deploy_check;
  }
};

struct CostFit {
  std::string reference;  // what one second is: "one rank of <machine>, <threads> intra-op thread(s)"
  std::string source;     // what it was fitted from: "results/demo.h5 (65 rows, qsweep <commit>)"
  double prepare = 0;                         // s per million weights
  std::map<std::string, double> act_forward;  // activation observer → s per calibration image-GMAC
  std::map<std::string, double> act_observe;  // activation observer → s per observed million elements
  std::map<std::string, double> act_nodes;    // activation observer → s per batch and graph node
  std::map<std::string, double> weights;      // weight observer → s per million weights
  std::map<std::string, double> step;         // algo → s per unit-iteration
  std::map<std::string, double> image;        // algo → evaluation forwards per reconstruction image (~3: fwd + bwd)
  double eval_fp32 = 0, eval_quant = 0;       // s per evaluated image-GMAC
  double eval_fp32_elems = 0, eval_quant_elems = 0;  // s per evaluated million output elements
  double eval_fp32_nodes = 0, eval_quant_nodes = 0;  // s per evaluation batch and graph node
  double deploy = 0;                          // s per image-GMAC of the deployment check; 0: use eval_quant
};

// The committed fit of the demo sweep on the 2-core VM (sweeps/costs/demo_2core.json; a unit test
// keeps the two equal): what `plan` and `run` use unless given --costs or --costs-from.
const CostFit& default_cost_fit();
CostFit load_cost_fit(const std::string& path);
void save_cost_fit(const CostFit& fit, const std::string& path);
std::string cost_fit_json(const CostFit& fit);
CostFit cost_fit_from_json(const std::string& text, const std::string& where);

// An observer or algorithm the fit has not seen takes the nearest known coefficient: the same
// observer at another p, else ema_minmax's (activations), minmax's (weights), adaround's.
PhaseSeconds predict(const CostFit& fit, const TaskWork& work);

struct CostSample {
  TaskWork work;
  PhaseSeconds measured;
  bool activations_measured = true;  // false: its statistics came from the rank's cache
  std::string task_class;            // "MinMax/EMAMinMax", "FP32": for the error report
};

// Each coefficient from the samples whose phase it prices: one-term coefficients as Σ seconds ÷
// Σ work (the ratio estimator), several-term ones (activation calibration, evaluation,
// reconstruction) by least squares on the relative error with no coefficient below zero. Samples whose activation statistics were cached price no activation
// calibration.
CostFit fit_costs(const std::vector<CostSample>& samples, const std::string& reference, const std::string& source);

// Predicted against measured total seconds per task class, and the fit's error over all tasks.
struct ClassError {
  std::string task_class;
  int tasks = 0;
  double measured = 0, predicted = 0;  // Σ seconds
  double mean_abs_error = 0;           // mean |predicted − measured| / measured over the class's tasks
  double max_abs_error = 0;
};
std::vector<ClassError> fit_errors(const CostFit& fit, const std::vector<CostSample>& samples);
// The table fit_errors gives, as `qsweep plan --costs-from` and bench/makespan_bench print it.
std::string format_fit_errors(const std::vector<ClassError>& errors);

}  // namespace qsweep::sweep
