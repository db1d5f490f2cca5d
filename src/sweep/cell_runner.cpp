#include "sweep/cell_runner.h"

#include <fmt/format.h>

#include <map>
#include <set>
#include <sstream>

#include "data/shard/shard.h"
#include "models/checkpoint/checkpoint.h"
#include "models/weights.h"
#include "models/zoo.h"
#include "pipeline/calibrators.h"
#include "quant/placement.h"

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
  t.calib.layers = c.layers;
  t.deploy_check = !c.fp32() && c.options.deploy_check == "int8";
  // The algorithm itself comes from w_calib in run_task (pipeline::resolve_calibrators, the one
  // place a reconstruction calibrator is resolved); these settings are read only when it is one.
  t.reconstruction.iterations = c.options.iterations;
  t.reconstruction.round_weight = c.options.round_weight;
  t.reconstruction.warm_up = c.options.warm_up;
  t.reconstruction.prob = c.options.drop_prob;
  t.reconstruction.seed = seed;
  return t;
}

std::vector<std::string> resolve_layer_rules(const SweepSpec& spec, const std::vector<Cell>& cells) {
  std::vector<std::string> out;
  std::map<std::string, graph::Graph> graphs;
  std::set<std::string> done;
  for (const auto& c : cells) {
    if (c.layers.empty()) continue;
    const auto t = pipeline::resolve_calibrators(task_spec_of(c, c.model, spec.seed));
    const std::string what = fmt::format("{} {} W{}A{}", c.model, c.backend, c.wbit, c.abit);
    if (!done.insert(what + quant::rules_to_json(c.layers) + t.calib.w_observer + t.calib.a_observer).second) continue;
    auto g = graphs.find(c.model);
    if (g == graphs.end()) {
      const auto& m = spec.model(c.model);
      g = graphs.emplace(c.model, models::build_model(m.arch, m.options)).first;
    }
    std::ostringstream log;
    try {
      quant::Placement p(g->second, quant::backend(c.backend), t.calib);
      p.log = &log;
      quant::run_backend_passes(p);
    } catch (const quant::QuantError& e) {
      throw SweepError(fmt::format("{} (cell {} {}/{})", e.what(), what, c.w_calib, c.a_calib));
    }
    std::istringstream lines(log.str());
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("layer-overrides", 0) == 0) out.push_back(what + ": " + line);
    }
  }
  return out;
}

DataFacts read_data_facts(const SweepSpec& spec) {
  try {
    const auto e = data::Shard::open(spec.data.eval);
    return {e.size(), e.info().height};
  } catch (const std::exception&) {
    return {};
  }
}

namespace {

// "imagenet" for "imagenet:/data/imagenet/val": the dataset a shard was prepared from.
std::string dataset_of(const data::ShardInfo& info) { return info.source.substr(0, info.source.find(':')); }

// "s.yaml:4:16: data.calibration" for an input key, or the key alone if the sweep has no place for it.
std::string place_of(const SweepSpec& spec, const std::string& key) {
  for (const auto& in : spec.inputs) {
    if (in.key == key) return in.where + ": " + key;
  }
  return key;
}

// The calibration shard must come from the same dataset and transform size as the eval shard: a
// calibration set of another dataset runs without an error and gives meaningless ranges.
void check_same_dataset(const SweepSpec& spec, const data::ShardInfo& eval, const data::ShardInfo& calib) {
  std::string what;
  if (dataset_of(eval) != dataset_of(calib)) what = fmt::format("datasets '{}' and '{}'", dataset_of(eval), dataset_of(calib));
  else if (eval.channels != calib.channels || eval.height != calib.height || eval.width != calib.width) {
    what = fmt::format("images {}x{}x{} and {}x{}x{}", eval.channels, eval.height, eval.width, calib.channels,
                       calib.height, calib.width);
  } else if (eval.class_names != calib.class_names) {
    what = fmt::format("class lists ({} and {} classes)", eval.class_names.size(), calib.class_names.size());
  }
  if (!what.empty()) {
    throw SweepError(fmt::format("{}: {} does not belong with data.eval {}: {}", place_of(spec, "data.calibration"),
                                 calib.path, eval.path, what));
  }
}

// Runs `read` on an input the sweep names; a failure is re-raised with the sweep file:line:col
// and the key that named the path in front, like every other sweep error.
template <typename F>
auto with_place(const SweepSpec& spec, const std::string& key, F&& read) -> decltype(read()) {
  try {
    return read();
  } catch (const SweepError&) {
    throw;
  } catch (const Error& e) {
    throw SweepError(fmt::format("{}: {}", place_of(spec, key), e.what()));
  }
}

}  // namespace

CellRunner::CellRunner(const SweepSpec& spec, c10::Device device) : spec_(spec), device_(device) {}

const std::string& CellRunner::weights_sha256(const std::string& key) {
  auto it = sha_.find(key);
  if (it != sha_.end()) return it->second;
  const auto& weights = spec_.model(key).weights;
  return sha_[key] = with_place(spec_, "models." + key + ".weights", [&] { return models::sha256_file(weights); });
}

const std::string& CellRunner::data_fingerprint() {
  if (fingerprint_.empty()) {
    // Opened and verified against their stored content fingerprints (one SHA-256 pass over each
    // shard per process: ~10 MB for Fashion-MNIST, ~7.5 GB for ImageNet's val), so an altered or
    // damaged shard is refused before any task instead of giving numbers under its old identity.
    const auto open_verified = [](const std::string& path) {
      auto s = data::Shard::open(path);
      s.verify();
      return s;
    };
    const auto e = with_place(spec_, "data.eval", [&] { return open_verified(spec_.data.eval); });
    const auto c = with_place(spec_, "data.calibration", [&] { return open_verified(spec_.data.calibration); });
    check_same_dataset(spec_, e.info(), c.info());
    fingerprint_ = e.info().fingerprint + "+" + c.info().fingerprint;
    eval_images_ = e.size();
    eval_image_size_ = e.info().height;
    dataset_ = dataset_of(e.info());
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
  in.data.eval_images = eval_images_;
  in.data.image_size = eval_image_size_;
  return in;
}

const graph::Graph& CellRunner::model(const std::string& key) {
  auto it = models_.find(key);
  if (it != models_.end()) return it->second;
  const auto& m = spec_.model(key);
  auto g = models::build_model(m.arch, m.options);
  with_place(spec_, "models." + key + ".weights",
             [&] { models::load_weights(g, models::read_state_dict(m.weights), m.weights); });
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

pipeline::TaskResult CellRunner::run(const Cell& cell, const support::Collective* group) {
  const auto& g = model(cell.model);
  return pipeline::run_task(g, task_spec_of(cell, cell.model + "@" + weights_sha256(cell.model), spec_.seed), data(),
                           &cache_, group);
}

}  // namespace qsweep::sweep
