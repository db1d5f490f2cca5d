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
//   options: {a_p: 2.0, ...}         # defaults of per-task options (task_options.def)
//   layers: [{match: "@first", wbit: 8, abit: 8}]   # per-layer overrides (also per grid block)
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
#include "quant/layer_rule.h"
#include "support/error.h"

namespace qsweep::sweep {

class SweepError : public Error {
 public:
  using Error::Error;
};

// The options of one task (task_options.def: defaults, ranges, what enters the task id).
struct TaskOptions {
#define QSWEEP_TASK_OPTION(type, name, init, id, valid, problem) type name = init;
#include "sweep/task_options.def"
#undef QSWEEP_TASK_OPTION
};

// Calls fn(name, member) for every option, in task_options.def order.
template <class Options, class Fn>
void for_each_option(Options& o, Fn&& fn) {
#define QSWEEP_TASK_OPTION(type, name, init, id, valid, problem) fn(#name, o.name);
#include "sweep/task_options.def"
#undef QSWEEP_TASK_OPTION
}

// The task record: one cell of the grid, everything that decides what it computes.
struct Cell {
  std::string model;    // key into SweepSpec::models
  std::string backend;  // registry key
  std::string w_calib;  // observer key, a reconstruction (adaround, brecq, qdrop), or "none" (FP32)
  std::string a_calib;
  int wbit = 8, abit = 8;  // 32/32 for FP32
  TaskOptions options;
  // Per-layer overrides (`layers:` of the file and of the cell's grid block, in that order); part
  // of the task id when present. Empty for FP32 cells.
  std::vector<quant::LayerRule> layers;
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
// Throws UsageError (exit 1): every problem is in what was typed.
void apply_overrides(SweepSpec& spec, const std::vector<std::string>& assignments);

}  // namespace qsweep::sweep
