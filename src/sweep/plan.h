// From a SweepSpec to the task list: resolved configuration, stable id, estimated cost.
//
//   PlanInputs in{.weights_sha256 = {{"resnet18", sha}}, .data_fingerprint = fp};
//   std::vector<Task> tasks = make_plan(spec, in);   // grid order, duplicates removed
//
// A task id is the first 16 hex digits of sha256(canonical JSON of the resolved task
// configuration + weights sha256 + data fingerprint): stable across runs, machines and grid order,
// and it changes whenever anything that affects the number changes.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "sweep/sweep_spec.h"

namespace qsweep::sweep {

struct PlanInputs {
  std::map<std::string, std::string> weights_sha256;  // model key → sha256 of its checkpoint
  std::string data_fingerprint;                       // of the eval + calibration shards
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
double estimated_cost(const SweepSpec& spec, const Cell& cell);

}  // namespace qsweep::sweep
