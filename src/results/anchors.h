// Anchors: published top-1 numbers (SPEC §6.2 tables A, A′, B, C, C′) kept as data in
// `sweeps/anchors/*.yaml`, so `qsweep render --anchors FILE` prints each published number and
// our difference beside our result.
//
//   results::Anchors a = results::Anchors::load("sweeps/anchors/mqbench_v0.0.5_academic.yaml");
//   std::optional<double> p = a.find({"academic", "minmax", "ema_minmax", 8, 8}, "resnet18");  // 70.93
//
// File format (every key required; unknown keys are errors naming file:line:column):
//   source: "MQBench v0.0.5 (279c5a9) README, ImageNet PTQ, Academic backend"
//   dataset: imagenet          # the results' dataset must match (ResultsStore::dataset())
//   weights: "MQBench's own ImageNet checkpoints"
//   entries:
//     - {w_calib: minmax, a_calib: ema_minmax, backend: academic, wbit: 8, abit: 8,
//        top1: {resnet18: 70.93, resnet50: 77.67, mobilenetv2_1.0: 72.51}}
// Calibrators and backends are registry keys (results/labels.h); cells match by the published
// label, so an `ema_quantile_legacy` anchor also judges an `ema_quantile` result (both print as
// "EMAQuantile" in the published table; the legacy row's own label is "EMAQuantile†").
#pragma once

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "results/results_error.h"

namespace qsweep::results {

// The table row an anchor belongs to (registry keys).
struct AnchorRow {
  std::string backend, w_calib, a_calib;
  int wbit = 32, abit = 32;
};

// The models anchor files may name, in the published table's column order.
const std::vector<std::string>& table_models();

class Anchors {
 public:
  // Parses and validates one anchor file; throws AnchorError("file:line:col: ...").
  static Anchors load(const std::string& path);
  // Adds `other`'s entries; the same cell with a different number in both is an error naming
  // both places (tables A and A′ disagree: load one of them).
  void merge(const Anchors& other);

  std::optional<double> find(const AnchorRow& row, const std::string& model) const;
  size_t size() const { return entries_.size(); }
  // The `source` line of each loaded file, and the files' paths.
  const std::vector<std::string>& sources() const { return sources_; }
  const std::vector<std::string>& files() const { return files_; }
  // The dataset the published numbers are on ("imagenet"), and the weights they used.
  const std::string& dataset() const { return dataset_; }
  const std::string& weights() const { return weights_; }

 private:
  using Key = std::tuple<std::string, std::string, std::string, int, int, std::string>;
  static Key key(const AnchorRow& row, const std::string& model);
  struct Entry {
    double top1;
    std::string where;  // file:line:col
  };
  std::map<Key, Entry> entries_;
  std::vector<std::string> sources_, files_;
  std::string dataset_, weights_;
};

// Loads and merges anchor files (at least one path).
Anchors load_anchors(const std::vector<std::string>& paths);

// Published numbers are only comparable on the same dataset. Returns "" when `results_dataset`
// is the anchors'; otherwise throws AnchorError naming both, unless `allow_cross`, in which case
// it returns the warning to print beside the comparison.
std::string check_anchor_dataset(const Anchors& anchors, const std::string& results_dataset,
                                 const std::string& results_path, bool allow_cross);

// Our number against the published one: round(ours, 2) − anchor, rounded to 2 decimals (so the
// printed difference is the difference of the printed numbers), never −0.00.
double anchor_delta(double ours, double anchor);

}  // namespace qsweep::results
