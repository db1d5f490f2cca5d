#include "results/cost_samples.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <map>
#include <set>

#include "results/labels.h"

namespace qsweep::results {

namespace {

// The sweep pieces task_work reads, rebuilt from a task's resolved configuration.
sweep::TaskWork work_of(const TaskRow& r, const nlohmann::json& config) {
  sweep::ModelEntry m;
  m.key = r.model;
  m.arch = config.at("arch").get<std::string>();
  const auto& o = config.at("model_options");
  m.options.num_classes = o.at("num_classes").get<int64_t>();
  m.options.in_channels = o.at("in_channels").get<int64_t>();
  m.options.width = o.at("width").get<double>();
  m.options.small_input = o.at("small_input").get<bool>();
  sweep::SweepSpec spec;
  spec.models.push_back(m);
  spec.seed = config.value("seed", uint64_t{1005});
  spec.data.calibration_batches = config.at("data").at("calibration_batches").get<int>();
  spec.data.batch_size = config.at("data").at("batch_size").get<int>();
  spec.data.eval_batch_size = config.at("data").value("eval_batch_size", spec.data.eval_batch_size);
  sweep::Cell c{r.model, r.backend, r.w_calib, r.a_calib, r.wbit, r.abit, {}, {}};
  if (config.contains("reconstruction")) {
    c.options.iterations = config["reconstruction"].value("iterations", c.options.iterations);
  }
  c.options.deploy_check = config.value("deploy_check", c.options.deploy_check);
  sweep::DataFacts data{r.total, 0};
  return sweep::task_work(spec, c, sweep::model_work(m, sweep::work_image_size(m, data)), data);
}

}  // namespace

CostSamples cost_samples(const ResultsStore& store) {
  CostSamples out;
  std::map<std::string, nlohmann::json> configs;
  if (const auto text = store.plan_json(); !text.empty()) {
    for (const auto& t : nlohmann::json::parse(text)) configs[t.at("id").get<std::string>()] = t.value("config", nlohmann::json{});
  }
  std::set<std::string> hosts;
  for (const auto& r : store.rows()) {
    if (!r.ok()) continue;
    if (r.ranks.find(',') != std::string::npos) {
      out.skipped_groups++;
      continue;
    }
    const auto config = configs.find(r.id);
    if (config == configs.end() || config->second.is_null()) {
      out.skipped_unplanned++;
      continue;
    }
    sweep::CostSample s;
    s.work = work_of(r, config->second);
    s.measured = {r.seconds_prepare,     r.seconds_calibrate_activations, r.seconds_calibrate_weights,
                  r.seconds_reconstruct, r.seconds_evaluate,              r.seconds_deploy_check};
    s.activations_measured = r.a_stats == "computed" || (r.a_stats.empty() && r.seconds_calibrate_activations >= 0.01);
    s.task_class = r.wbit == 32 ? "FP32" : calibrator_label(r.w_calib) + "/" + calibrator_label(r.a_calib);
    out.samples.push_back(std::move(s));
    hosts.insert(fmt::format("{} ({})", r.host, r.device));
  }
  std::string where;
  for (const auto& h : hosts) where += (where.empty() ? "" : ", ") + h;
  out.reference = "one rank of " + (where.empty() ? std::string("an unknown machine") : where) +
                  ", with the intra-op threads per rank its run used";
  return out;
}

}  // namespace qsweep::results
