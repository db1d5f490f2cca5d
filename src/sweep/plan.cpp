// Task resolution, ids and each task's predicted seconds (the cost model, sweep/cost_model.h).
#include "sweep/plan.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <type_traits>

#include "pipeline/calibrators.h"
#include "sweep/schedule.h"
#include "support/sha256.h"

namespace qsweep::sweep {

namespace {

// Where an option enters the resolved configuration (task_options.def's `id` column).
void add_options(nlohmann::json& j, const Cell& c, bool, const char* key, const nlohmann::json& v, bool) {
  if (!c.fp32()) j["options"][key] = v;
}
void add_reconstruction(nlohmann::json& j, const Cell&, bool recon, const char* key, const nlohmann::json& v, bool) {
  if (recon) j["reconstruction"][key] = v;
}
void add_if_set(nlohmann::json& j, const Cell& c, bool, const char* key, const nlohmann::json& v, bool changed) {
  if (!c.fp32() && changed) j[key] = v;
}
void add_none(nlohmann::json&, const Cell&, bool, const char*, const nlohmann::json&, bool) {}

}  // namespace

std::string resolved_config_json(const SweepSpec& s, const Cell& c, const PlanInputs& in) {
  const auto& m = s.model(c.model);
  auto sha = in.weights_sha256.find(c.model);
  nlohmann::json j;
  j["arch"] = m.arch;
  j["model_options"] = {{"num_classes", m.options.num_classes},
                        {"in_channels", m.options.in_channels},
                        {"width", m.options.width},
                        {"small_input", m.options.small_input}};
  j["weights_sha256"] = sha == in.weights_sha256.end() ? "" : sha->second;
  j["data_fingerprint"] = in.data_fingerprint;
  j["data"] = {{"calibration_batches", s.data.calibration_batches},
               {"batch_size", s.data.batch_size},
               {"eval_batch_size", s.data.eval_batch_size}};
  j["seed"] = s.seed;
  j["backend"] = c.backend;
  j["w_calib"] = c.w_calib;
  j["a_calib"] = c.a_calib;
  j["wbit"] = c.wbit;
  j["abit"] = c.abit;
  // task_options.def says where each option enters the id; the keys and values are those of
  // earlier files, so their ids stay the same (nlohmann::json orders keys).
  const bool recon = pipeline::reconstruction_of(c.w_calib).has_value();
  const auto id_value = [](const auto& v) -> nlohmann::json {
    if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::optional<double>>) return v ? *v : -1.0;
    else if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::optional<int>>) return v ? *v : -1;
    else return v;
  };
  const TaskOptions defaults;
#define QSWEEP_TASK_OPTION(type, name, init, id, valid, problem) \
  add_##id(j, c, recon, #name, id_value(c.options.name), c.options.name != defaults.name);
#include "sweep/task_options.def"
#undef QSWEEP_TASK_OPTION
  // Per-layer overrides only when present, so the ids of cells without them stay those of earlier files.
  if (!c.layers.empty()) j["layers"] = nlohmann::json::parse(quant::rules_to_json(c.layers));
  return j.dump();  // nlohmann::json orders keys, so the text is canonical
}

namespace {
std::string id_of(const std::string& config_json) { return sha256_hex(config_json).substr(0, 16); }
}  // namespace

std::string task_id(const SweepSpec& s, const Cell& c, const PlanInputs& in) {
  return id_of(resolved_config_json(s, c, in));
}

double estimated_cost(const SweepSpec& s, const Cell& c, const DataFacts& data, const CostFit& fit) {
  const auto& m = s.model(c.model);
  return predict(fit, task_work(s, c, model_work(m, work_image_size(m, data)), data)).total();
}

std::vector<Task> make_plan(const SweepSpec& s, const PlanInputs& in) {
  std::vector<Task> tasks;
  std::set<std::string> seen;
  for (const auto& c : s.cells) {
    Task t;
    t.cell = c;
    t.config_json = resolved_config_json(s, c, in);
    t.id = id_of(t.config_json);
    t.cost = estimated_cost(s, c, in.data, in.costs ? *in.costs : default_cost_fit());
    if (seen.insert(t.id).second) tasks.push_back(std::move(t));
  }
  return tasks;
}

std::vector<int> plan_group_sizes(const SweepSpec& spec, const std::vector<Task>& tasks, int run_default, int ranks,
                                  const std::vector<int>& node_of_rank) {
  std::vector<double> costs;
  std::vector<int> requested;
  for (const auto& t : tasks) {
    costs.push_back(t.cost);
    requested.push_back(t.cell.options.group_size.value_or(run_default));
  }
  const int max_group = std::max(1, std::min(ranks, spec.data.batch_size));
  return choose_group_sizes(costs, requested, ranks, max_group, node_of_rank);
}

}  // namespace qsweep::sweep
