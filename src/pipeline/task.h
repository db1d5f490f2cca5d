// One PTQ task end to end, without MPI (SPEC §4): prepare → calibrate activations on the fixed
// calibration batches → calibrate weights → quantize → evaluate top-1/top-5 on the whole split.
//
//   pipeline::TaskSpec spec;  spec.backend = "academic";  spec.calib = {...};
//   pipeline::ActivationCache cache;            // per rank: FP32 statistics shared across tasks
//   TaskResult r = pipeline::run_task(fp32_graph, spec, data, &cache);
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "graph/executor.h"
#include "graph/graph.h"
#include "quant/backend.h"
#include "quant/reconstruct/reconstruct.h"
#include "support/collective.h"
#include "support/error.h"

namespace qsweep::pipeline {

class TaskError : public Error {
 public:
  using Error::Error;
};

// The data a task reads; implementations wrap shards (data/) or in-memory tensors (tests).
class TaskData {
 public:
  virtual ~TaskData() = default;
  // The calibration set in its stored batch order (16 × 64 images in the benchmark).
  virtual const std::vector<at::Tensor>& calibration_batches() = 0;
  using EvalVisitor = std::function<void(const at::Tensor&, const at::Tensor&)>;
  // Visits the evaluation split in order: images [B, C, H, W] float, labels [B] int64; only the
  // batches `part` names when it is given (one rank's share of a task group's evaluation).
  virtual void for_each_eval_batch(const EvalVisitor& fn, std::optional<support::Part> part = std::nullopt) = 0;
  virtual int64_t eval_batch_count() const = 0;
  // Identifies the data for caching activation statistics (e.g. the shards' fingerprints).
  virtual std::string fingerprint() const = 0;
};

// An in-memory TaskData (tests, benchmarks, small experiments).
class TensorTaskData final : public TaskData {
 public:
  TensorTaskData(std::vector<at::Tensor> calibration, at::Tensor eval_images, at::Tensor eval_labels,
                 int64_t eval_batch_size, std::string fingerprint);
  const std::vector<at::Tensor>& calibration_batches() override { return calibration_; }
  void for_each_eval_batch(const EvalVisitor& fn, std::optional<support::Part> part = std::nullopt) override;
  int64_t eval_batch_count() const override { return (images_.size(0) + batch_ - 1) / batch_; }
  std::string fingerprint() const override { return fingerprint_; }

 private:
  std::vector<at::Tensor> calibration_;
  at::Tensor images_, labels_;
  int64_t batch_;
  std::string fingerprint_;
};

struct TaskSpec {
  std::string backend = "academic";
  // calib.w_observer may name a reconstruction calibrator (adaround, brecq, qdrop): run_task then
  // resolves it with resolve_calibrators (calibrators.h) and reconstructs after weight calibration.
  quant::CalibrationConfig calib;
  // Settings of AdaRound/BRECQ/QDrop (iterations, λ, warm-up, β range, batch size, seed, ...);
  // algorithm none unless set here or implied by calib.w_observer.
  quant::reconstruct::ReconstructionConfig reconstruction;
  bool fp32 = false;          // the FP32 row: no quantizers at all
  bool deploy_check = false;  // also run the cell in integer arithmetic (deploy_check.h)
  std::string model_key;      // identifies model + weights for the activation cache (name + sha256)
};

struct Accuracy {
  int64_t top1 = 0, top5 = 0, total = 0;
  double top1_percent() const { return total ? 100.0 * top1 / total : 0.0; }
  double top5_percent() const { return total ? 100.0 * top5 / total : 0.0; }
};

struct QuantizerRecord {
  std::string name;  // "layer1_0_relu1_post_act_fake_quantizer", "conv1.weight_fake_quant"
  bool is_weight = false;
  int bits = 0;
  int64_t qmin = 0, qmax = 0;
  std::vector<float> min_val, max_val, scale;  // one entry per tensor, or per channel
  std::vector<int32_t> zero_point;
  // 10·log10(Σx² / Σ(x − q(x))²) of this quantizer on its own input, measured after calibration
  // on the first calibration batch with every quantizer on (weights: x is the float weight the
  // backend quantizes, BN-folded for TensorRT, and q(x) the weight the model runs with, the learned
  // rounding applied after AdaRound/BRECQ/QDrop).
  // +inf when the quantizer is exact; NaN when not measured (files written before it was stored).
  double sqnr_db = std::numeric_limits<double>::quiet_NaN();
};

// One node's integer output against its fake-quant output on the first 32 images of the first
// evaluation batch:
// accumulated (the integer network run freely: this layer's gap plus the drift before it) and
// isolated (every quantizer before it fed the simulated values: this layer's own gap).
struct LayerGap {
  std::string node, how;
  double scale = 0;  // the scale of the quantizer at this node (0 when it is not one): gaps in steps
  // Largest |integer − simulated|, and the fraction of elements that differ (by half a step or
  // more; float values: by 1e-5 of their largest magnitude).
  double max_abs_diff = 0, differing = 0;
  double isolated_max_abs_diff = 0, isolated_differing = 0;
};

// What the deployment check of a cell found (deploy_check.h).
struct DeployResult {
  std::string engine;   // "onednn", "qnnpack"
  std::string engine_why;  // why that engine ("oneDNN's x86 int8 kernels (this LibTorch has no fbgemm)")
  std::string refused;  // why the cell cannot run in integer arithmetic; empty when it ran
  Accuracy simulated, integer;
  int64_t agree = 0;    // images whose integer top-1 class equals the simulated one
  double seconds = 0;   // conversion plus the integer evaluation
  std::vector<LayerGap> layers;

  bool ran() const { return refused.empty(); }
  double agreement() const { return integer.total ? static_cast<double>(agree) / integer.total : 0.0; }
};

struct TaskResult {
  Accuracy accuracy;
  // per phase: prepare, calibrate_activations, calibrate_weights, [reconstruct,] evaluate
  std::map<std::string, double> seconds;
  quant::reconstruct::ReconstructionReport reconstruction;  // empty without reconstruction
  std::vector<QuantizerRecord> quantizers;
  bool activation_stats_reused = false;
  std::optional<DeployResult> deploy;  // when TaskSpec::deploy_check asked for it
};

// FP32 activation ranges per quantizer, keyed by model, data, backend, observer and bits: the same
// for every weight calibrator, so tasks on one rank compute them once (DESIGN "Quantities").
class ActivationCache {
 public:
  using Ranges = std::vector<std::pair<at::Tensor, at::Tensor>>;
  const Ranges* find(const std::string& key) const;
  void put(const std::string& key, Ranges ranges);
  size_t size() const { return entries_.size(); }

 private:
  std::map<std::string, Ranges> entries_;
};

std::string activation_cache_key(const TaskSpec& spec, const std::string& data_fingerprint);

// group: the ranks that run this task together (docs/groups.md), every one calling run_task with
// the same arguments; each calibrates on its part of every calibration batch, reconstructs on its
// part of every step's batch and evaluates its part of the split, and every one returns the whole
// task's result (the deployment check runs on group rank 0 alone). Null: this rank alone.
TaskResult run_task(const graph::Graph& fp32, const TaskSpec& spec, TaskData& data, ActivationCache* cache = nullptr,
                    const support::Collective* group = nullptr);

// Top-1/top-5 counts of `g` over the evaluation split (exact counts, no averaging of averages);
// in a group, each rank evaluates a contiguous part of the split's batches and the counts are summed.
Accuracy evaluate(const graph::Graph& g, const graph::ExecOptions& options, TaskData& data,
                  const support::Collective* group = nullptr);

}  // namespace qsweep::pipeline
