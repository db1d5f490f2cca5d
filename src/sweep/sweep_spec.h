// Sweep files: YAML → a validated SweepSpec whose grid is expanded into cells (one per task).
//
//   sweep::SweepSpec s = sweep::load_sweep("sweeps/demo.yaml");   // throws SweepError "file:line:col: …"
//   for (const auto& cell : s.cells) ...                            // declared order, last axis fastest
//
// Format (sweeps/README.md is the reference):
//   sweep: demo                      # results/demo.h5
//   seed: 1005
//   data: {eval: ${QSWEEP_DATA}/val.h5, calibration: ..., calibration_batches: 16, batch_size: 64,
//          eval_batch_size: 100}
//   models: {resnet18: {arch: resnet18, weights: path.pth, options: {num_classes: 10, ...}}}
//   options: {a_p: 2.0, ...}         # defaults of per-task options
//   grid:                            # a list of blocks, concatenated
//     - product: {model: [..], zip: [{w_calib: .., a_calib: ..}, ..], wbit: [8, 4], abit: 8}
//       exclude: [{w_calib: mse, wbit: 8}]
//       include: [{model: resnet18, backend: academic, w_calib: none, a_calib: none, wbit: 32, abit: 32}]
//       options: {a_p: 2.4}
// Nothing is run when anything is wrong: every error names file, line and column.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/zoo.h"
#include "support/error.h"

namespace qsweep::sweep {

class SweepError : public Error {
 public:
  using Error::Error;
};

struct TaskOptions {
  double w_p = 2.0;             // Lp of MSE weight observers
  double a_p = 2.0;             // Lp of MSE activation observers
  double ema_ratio = 0.9;
  bool symmetric_range = true;  // TensorRT [−127, 127] (false: the published [−128, 127])
  // Reconstruction (w_calib adaround | brecq | qdrop; SPEC §5.4). Unset values take the
  // published defaults: λ 0.01 (0.1 for MobileNetV2), keep probability 0.5 for QDrop.
  int64_t iterations = 20000;
  std::optional<double> round_weight;
  double warm_up = 0.2;
  std::optional<double> drop_prob;
  // "int8": also run the cell in integer arithmetic (pipeline/deploy_check.h); "none" by default.
  std::string deploy_check = "none";
  // How many ranks run the cell together (docs/groups.md): 0 = auto (the cost model decides),
  // N ≥ 1 = N ranks; unset = `qsweep run --group-size` (1 by default). Not part of the task id:
  // a group computes the same numbers as one rank.
  std::optional<int> group_size;
};

struct Cell {
  std::string model;    // key into SweepSpec::models
  std::string backend;  // registry key
  std::string w_calib;  // observer key, a reconstruction (adaround, brecq, qdrop), or "none" (FP32)
  std::string a_calib;
  int wbit = 8, abit = 8;  // 32/32 for FP32
  TaskOptions options;
  bool fp32() const { return wbit == 32; }
};

struct ModelEntry {
  std::string key;      // name used in the grid and the table column
  std::string arch;     // zoo architecture
  std::string weights;  // checkpoint path (environment variables expanded)
  models::ModelOptions options;
};

struct DataSpec {
  std::string eval;
  std::string calibration;
  int calibration_batches = 16;
  int batch_size = 64;
  int eval_batch_size = 100;
};

// A file or folder the sweep names (shards, checkpoints), where it is named, and whether its
// environment variables could be expanded. Parsing never opens it: `qsweep plan` works without
// data, and missing_inputs()/require_inputs() report every problem at once when it matters.
struct InputPath {
  std::string key;         // "data.eval", "models.resnet18.weights"
  std::string written;     // as in the file: "${IMAGENET_SHARDS}/val.h5"
  std::string path;        // expanded; "" when a variable is unset
  std::string where;       // file:line:col of the value
  std::string unset_var;   // the first unset variable, if any
};

struct SweepSpec {
  std::string name;
  std::string path;  // the file it came from ("<string>" when parsed from text)
  std::string text;  // its full text (stored in the results file)
  uint64_t seed = 1005;
  DataSpec data;
  std::vector<ModelEntry> models;
  std::vector<Cell> cells;
  std::vector<InputPath> inputs;  // data.eval, data.calibration, then each model's weights

  const ModelEntry& model(const std::string& key) const;
};

SweepSpec load_sweep(const std::string& path);
SweepSpec parse_sweep(const std::string& text, const std::string& path);

// "${VAR}" → value; an unset variable throws SweepError naming it (where = "file:line:col").
std::string expand_env(const std::string& value, const std::string& where);

// One line per input that cannot be read now (unset variable, no such file), each with the
// sweep file:line:col, the key that names it and a hint where such a file comes from.
std::vector<std::string> missing_inputs(const SweepSpec& spec);
// Throws SweepError listing every missing input (what `run` and `plan --resolve` need).
void require_inputs(const SweepSpec& spec);

// The option keys a sweep's `options:` accept (w_p, a_p, ema_ratio, ...).
const std::vector<std::string>& option_keys();
// `--set key=value` from the command line: each assignment overrides that option in every cell
// (block options included), validated exactly as the file's `options:` are ("--set:1:6: a_p: 9
// not in [1, 8]"); `seed=N` sets the sweep's seed. The changed options are part of the task ids,
// and the assignments are appended to spec.text as a comment so the results file records them.
void apply_overrides(SweepSpec& spec, const std::vector<std::string>& assignments);

}  // namespace qsweep::sweep
