// Runs the cells of one sweep on one process (rank): loads each model's checkpoint once, opens the
// shards once, and shares FP32 activation statistics between the cells it runs (pipeline's
// ActivationCache). No MPI here: src/dist hands cells to it.
//
//   CellRunner runner(spec, at::kCPU);
//   PlanInputs in = runner.plan_inputs();        // weights sha256s and the data fingerprint
//   pipeline::TaskResult r = runner.run(cell);
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "pipeline/shard_task_data.h"
#include "pipeline/task.h"
#include "sweep/plan.h"
#include "sweep/sweep_spec.h"

namespace qsweep::sweep {

// The pipeline's view of a cell (backend, calibrators, bits, options); `seed` is the sweep's,
// which drives reconstruction (batch draws, drop masks).
pipeline::TaskSpec task_spec_of(const Cell& cell, const std::string& model_key, uint64_t seed);

// What each cell's per-layer rules do (`layers:`), checked on the cells' model graphs (builders
// only: no checkpoint or shard is read): one line per rule and distinct (model, backend, bits,
// rules), "resnet18 academic W4A8: layer-overrides: '@first: w8 a8' on 1 node(s): conv1". A rule
// that matches no node of a model, or two readers of one value that disagree, throws SweepError
// naming the rule's file:line and the cell.
std::vector<std::string> resolve_layer_rules(const SweepSpec& spec, const std::vector<Cell>& cells);

// The eval shard's image count and size from its header, for the cost model; zeros where it cannot
// be read (`plan` needs no data; the cost model then states its assumption).
DataFacts read_data_facts(const SweepSpec& spec);

class CellRunner {
 public:
  CellRunner(const SweepSpec& spec, c10::Device device);
  // Reads every weights file (sha256) and the shard headers; throws naming what is missing.
  PlanInputs plan_inputs();
  // group: the ranks running this cell together (pipeline::run_task); null: this rank alone.
  pipeline::TaskResult run(const Cell& cell, const support::Collective* group = nullptr);
  const std::string& weights_sha256(const std::string& model_key);
  const std::string& data_fingerprint();
  // The eval shard's dataset: its source up to the ':' ("imagenet", "fashion-mnist").
  const std::string& dataset();

 private:
  const graph::Graph& model(const std::string& key);
  pipeline::ShardTaskData& data();

  const SweepSpec& spec_;
  c10::Device device_;
  std::map<std::string, graph::Graph> models_;
  std::map<std::string, std::string> sha_;
  std::unique_ptr<pipeline::ShardTaskData> data_;
  std::string fingerprint_, dataset_;
  int64_t eval_images_ = 0, eval_image_size_ = 0;
  pipeline::ActivationCache cache_;
};

}  // namespace qsweep::sweep
