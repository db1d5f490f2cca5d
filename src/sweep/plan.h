// From a SweepSpec to the task list: resolved configuration, stable id, predicted seconds.
//
//   PlanInputs in{.weights_sha256 = {{"resnet18", sha}}, .data_fingerprint = fp};
//   std::vector<Task> tasks = make_plan(spec, in);   // grid order, duplicates removed
//
// A task id is the first 16 hex digits of sha256(canonical JSON of the resolved task
// configuration + weights sha256 + data fingerprint): stable across runs, machines and grid order,
// and it changes whenever anything that affects the number changes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sweep/cost_model.h"
#include "sweep/sweep_spec.h"

namespace qsweep::sweep {

struct PlanInputs {
  std::map<std::string, std::string> weights_sha256;  // model key → sha256 of its checkpoint
  std::string data_fingerprint;                       // of the eval + calibration shards
  DataFacts data;  // eval images and image size from the shard headers, where they could be read
  // The cost model's coefficients (seconds of its reference); null: default_cost_fit().
  const CostFit* costs = nullptr;
};

struct Task {
  std::string id;
  Cell cell;
  std::string config_json;  // canonical resolved configuration (what the id hashes)
  double cost = 0;          // predicted seconds on the cost fit's reference (longest-first order, groups, ETAs)
};

std::vector<Task> make_plan(const SweepSpec& spec, const PlanInputs& inputs);
std::string resolved_config_json(const SweepSpec& spec, const Cell& cell, const PlanInputs& inputs);
// The id make_plan gives the cell: a worker rank re-derives it to check it runs what was planned.
std::string task_id(const SweepSpec& spec, const Cell& cell, const PlanInputs& inputs);
// Predicted seconds of the cell's task on the fit's reference (sweep/cost_model.h), its model's
// work measured at the data's image size (`data`; unknown: the assumption work_image_size states).
double estimated_cost(const SweepSpec& spec, const Cell& cell, const DataFacts& data = {},
                      const CostFit& fit = default_cost_fit());

// The group size of each of `tasks` on `ranks` ranks (docs/groups.md): the cell's `group_size`
// option, else `run_default` (`qsweep run --group-size`: 1 = one rank per task, 0 = auto, N = N
// ranks). Auto sizes come from sweep::choose_group_sizes over exactly these tasks, capped at the
// calibration batch size (a group splits every batch; a smaller share would leave a rank no image)
// and at `ranks`. node_of_rank: node id per rank (empty = one node).
std::vector<int> plan_group_sizes(const SweepSpec& spec, const std::vector<Task>& tasks, int run_default, int ranks,
                                  const std::vector<int>& node_of_rank = {});

}  // namespace qsweep::sweep
