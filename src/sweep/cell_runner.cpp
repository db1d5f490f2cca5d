#include "sweep/cell_runner.h"

#include <fmt/format.h>

#include "data/shard.h"
#include "models/checkpoint.h"
#include "models/weights.h"
#include "models/zoo.h"
#include "pipeline/calibrators.h"

namespace qsweep::sweep {

pipeline::TaskSpec task_spec_of(const Cell& c, const std::string& model_key, uint64_t seed) {
  pipeline::TaskSpec t;
  t.backend = c.backend;
  t.fp32 = c.fp32();
  t.model_key = model_key;
  t.calib.w_observer = c.w_calib;
  t.calib.a_observer = c.a_calib;
  t.calib.wbit = c.wbit;
  t.calib.abit = c.abit;
  t.calib.w_p = c.options.w_p;
  t.calib.a_p = c.options.a_p;
  t.calib.ema_ratio = c.options.ema_ratio;
  t.calib.symmetric_range = c.options.symmetric_range;
  if (const auto r = pipeline::reconstruction_of(c.w_calib)) {
    t.reconstruction.algorithm = r->algorithm;
    t.reconstruction.iterations = c.options.iterations;
    t.reconstruction.round_weight = c.options.round_weight;
    t.reconstruction.warm_up = c.options.warm_up;
    t.reconstruction.prob = c.options.drop_prob;
    t.reconstruction.seed = seed;
  }
  return t;
}

CellRunner::CellRunner(const SweepSpec& spec, c10::Device device) : spec_(spec), device_(device) {}

const std::string& CellRunner::weights_sha256(const std::string& key) {
  auto it = sha_.find(key);
  if (it != sha_.end()) return it->second;
  return sha_[key] = models::sha256_file(spec_.model(key).weights);
}

const std::string& CellRunner::data_fingerprint() {
  if (fingerprint_.empty()) {
    const auto e = data::Shard::open(spec_.data.eval);
    const auto c = data::Shard::open(spec_.data.calibration);
    fingerprint_ = e.info().fingerprint + "+" + c.info().fingerprint;
    dataset_ = e.info().source.substr(0, e.info().source.find(':'));
  }
  return fingerprint_;
}

const std::string& CellRunner::dataset() {
  data_fingerprint();
  return dataset_;
}

PlanInputs CellRunner::plan_inputs() {
  require_inputs(spec_);  // every missing file at once, with its sweep file:line, before reading any
  PlanInputs in;
  for (const auto& m : spec_.models) in.weights_sha256[m.key] = weights_sha256(m.key);
  in.data_fingerprint = data_fingerprint();
  return in;
}

const graph::Graph& CellRunner::model(const std::string& key) {
  auto it = models_.find(key);
  if (it != models_.end()) return it->second;
  const auto& m = spec_.model(key);
  auto g = models::build_model(m.arch, m.options);
  models::load_weights(g, models::read_state_dict(m.weights), m.weights);
  g.to(device_);
  return models_.emplace(key, std::move(g)).first->second;
}

pipeline::ShardTaskData& CellRunner::data() {
  if (!data_) {
    data_ = std::make_unique<pipeline::ShardTaskData>(spec_.data.eval, spec_.data.calibration,
                                                      spec_.data.calibration_batches, spec_.data.batch_size,
                                                      spec_.data.eval_batch_size);
  }
  return *data_;
}

pipeline::TaskResult CellRunner::run(const Cell& cell) {
  const auto& g = model(cell.model);
  return pipeline::run_task(g, task_spec_of(cell, cell.model + "@" + weights_sha256(cell.model), spec_.seed), data(),
                           &cache_);
}

}  // namespace qsweep::sweep
