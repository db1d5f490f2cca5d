// From a SweepSpec to the task list: resolved configuration, stable id, estimated cost.
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

#include "sweep/sweep_spec.h"

namespace qsweep::sweep {

struct PlanInputs {
  std::map<std::string, std::string> weights_sha256;  // model key → sha256 of its checkpoint
  std::string data_fingerprint;                       // of the eval + calibration shards
  int64_t eval_images = 0;  // images in the eval shard; 0 = not read (the cost model assumes ImageNet's 50 000)
};

struct Task {
  std::string id;
  Cell cell;
  std::string config_json;  // canonical resolved configuration (what the id hashes)
  double cost = 0;          // rough relative cost, for longest-first scheduling and ETAs
};

std::vector<Task> make_plan(const SweepSpec& spec, const PlanInputs& inputs);
std::string resolved_config_json(const SweepSpec& spec, const Cell& cell, const PlanInputs& inputs);
// The id make_plan gives the cell: a worker rank re-derives it to check it runs what was planned.
std::string task_id(const SweepSpec& spec, const Cell& cell, const PlanInputs& inputs);
// In units of one FP32 evaluation of 50 000 images by a 1-GFLOP model: image forwards (evaluation,
// calibration, ~3 per image of each reconstruction step) × the model's GFLOPs ÷ 50 000.
double estimated_cost(const SweepSpec& spec, const Cell& cell, int64_t eval_images = 0);

// The group size of each of `tasks` on `ranks` ranks (docs/groups.md): the cell's `group_size`
// option, else `run_default` (`qsweep run --group-size`: 1 = one rank per task, 0 = auto, N = N
// ranks). Auto sizes come from sweep::choose_group_sizes over exactly these tasks, capped at the
// calibration batch size (a group splits every batch; a smaller share would leave a rank no image)
// and at `ranks`. node_of_rank: node id per rank (empty = one node).
std::vector<int> plan_group_sizes(const SweepSpec& spec, const std::vector<Task>& tasks, int run_default, int ranks,
                                  const std::vector<int>& node_of_rank = {});

}  // namespace qsweep::sweep
