// Reconstruction PTQ — AdaRound, BRECQ and QDrop as MQBench's advanced_ptq.py runs them (SPEC §5).
//
//   auto qm = quant::prepare(fp32, quant::academic_backend(), config);   // MSE p = 2.4 weights
//   ... calibrate activations and weights (pipeline::run_task does this) ...
//   reconstruct::ReconstructionConfig rc;  rc.algorithm = reconstruct::Algorithm::kQDrop;
//   auto report = reconstruct::reconstruct(qm, calibration_batches, rc);
//   // qm is now in Mode::kQuantize with hard-rounded weights (and learned activation scales)
//
// Per unit (partition.h), in topological order:
//  1. cache over the calibration batches, without autograd: the unit's input from the quantized
//     model (earlier units already hard-rounded), the same node's FP32 value when the keep
//     probability is below 1, and the FP32 value of the unit's last node (the target) — from two
//     ForwardCaches, so each node runs once per model over the whole reconstruction;
//  2. optimise for `iterations` steps on one cached batch drawn at random each step:
//     loss = mean over N,H,W of Σ_channels (out − target)² + λ·Σ(1 − |2h(α) − 1|^β) (the second term
//     from t ≥ warm_up·T, β from b_start to b_end after warm-up); Adam(lr) on every α of the unit;
//     BRECQ/QDrop also Adam(scale_lr) with cosine decay on the scales of the unit's activation
//     quantizers (the dividing quantizer of SPEC §1.4); QDrop keeps each element of the unit's
//     input and of every in-unit quantizer's output quantized with probability `prob` (0.5);
//  3. write the hard rounding (α ≥ 0) back into the weights and the learned scales into the
//     quantizers.
// All three quantize activations while reconstructing. The FP32 reference is the prepared graph
// as it was on entry with every quantizer off.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "quant/quantized_model.h"
#include "quant/reconstruct/forward_cache.h"
#include "quant/reconstruct/partition.h"

namespace qsweep::quant::reconstruct {

enum class Algorithm { kNone, kAdaRound, kBrecq, kQDrop };
const char* algorithm_name(Algorithm a);  // "none", "adaround", "brecq", "qdrop"
const char* algorithm_label(Algorithm a);  // the table's "None", "AdaRound", "BRECQ", "QDrop"
// Throws QuantError listing the known names.
Algorithm algorithm_from_name(const std::string& name);
// The reconstruction algorithms by name (what sweeps may use as weight calibrators).
std::vector<std::string> algorithm_names();

struct ReconstructionConfig {
  Algorithm algorithm = Algorithm::kNone;
  int64_t iterations = 20000;          // max_count
  std::optional<double> round_weight;  // λ; unset: 0.01 (0.1 for MobileNetV2, see default_round_weight)
  double warm_up = 0.2;                // fraction of iterations without the rounding loss, β = b_start
  double b_start = 20.0, b_end = 2.0;  // b_range
  double lr = 1e-3;                    // Adam on the rounding variables α
  double scale_lr = 4e-5;              // Adam + cosine on activation scales (BRECQ, QDrop)
  std::optional<double> prob;          // keep-quantized probability; unset: 0.5 for QDrop, else 1
  int64_t batch_size = 0;              // images per step; 0: one calibration batch as stored (64)
  uint64_t seed = 1005;                // batch draws and drop masks
  std::string cache_device = "cpu";    // where cached inputs and targets live ("cpu", "cuda", ...)
  int64_t log_every = 500;             // iterations between log lines (MQBench's period)

  Pattern pattern() const;  // AdaRound: layer; BRECQ, QDrop: block
  bool learns_activation_scales() const { return algorithm == Algorithm::kBrecq || algorithm == Algorithm::kQDrop; }
  double keep_prob() const;
  void validate() const;  // throws QuantError naming the bad field
};

// λ of the published configs: 0.1 for MobileNetV2, 0.01 for every other model.
double default_round_weight(const std::string& model_name);

struct UnitReport {
  std::vector<std::string> nodes;  // the unit's body
  double first_rec = 0, final_rec = 0, final_round = 0;
  double cache_seconds = 0, optimise_seconds = 0;
  int64_t cached_bytes = 0;
};

struct ReconstructionReport {
  std::vector<UnitReport> units;
  double seconds = 0;
  int64_t iterations = 0;  // all units together
};

using ReconstructionLog = std::function<void(const std::string&)>;

// One unit's cache + optimisation + write-back (what reconstruct() does per unit; exposed for the
// benchmark). fp32: a cache over the prepared graph before any write-back (run with every
// quantizer off); quantized: a cache over qm.graph, invalidated here below the unit once its
// weights are rewritten; gen: draws batches and drop masks.
// Precondition: qm in Mode::kQuantize; the config validated.
// group: the ranks reconstructing this model together (null: this rank alone). Every rank caches
// the whole calibration set, draws the same batch each step and runs its contiguous part of it;
// the reconstruction loss's gradients are summed over the group (each part weighted by its share
// of the batch) before the rounding loss's own gradient is added and the optimisers step, so every
// rank holds the same α, scales and Adam state throughout (docs/groups.md).
UnitReport reconstruct_unit(QuantizedModel& qm, ForwardCache& fp32, ForwardCache& quantized, const Unit& unit,
                            const ReconstructionConfig& config, at::Generator& gen, const ReconstructionLog& log = {},
                            const support::Collective* group = nullptr);

// qm: prepared and calibrated (activation observers have seen the calibration set, weight
// observers their weights). BRECQ/QDrop need dividing activation quantizers
// (CalibrationConfig::a_fake_quant = kDividing). Leaves qm in Mode::kQuantize.
ReconstructionReport reconstruct(QuantizedModel& qm, const std::vector<at::Tensor>& calibration,
                                 const ReconstructionConfig& config, const ReconstructionLog& log = {},
                                 const support::Collective* group = nullptr);

}  // namespace qsweep::quant::reconstruct
