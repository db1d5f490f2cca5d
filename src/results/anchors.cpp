// Anchor files: strict YAML validation (yaml-cpp marks give line and column) and lookup by
// table label.
#include "results/anchors.h"

#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "results/labels.h"
#include "support/strings.h"

namespace qsweep::results {
namespace {

std::string at(const std::string& path, const YAML::Mark& m) {
  return fmt::format("{}:{}:{}", path, m.line + 1, m.column + 1);
}

[[noreturn]] void fail(const std::string& path, const YAML::Node& n, const std::string& what) {
  throw AnchorError(fmt::format("{}: {}", at(path, n.Mark()), what));
}

void check_keys(const std::string& path, const YAML::Node& map, const std::vector<std::string>& allowed,
                const std::string& what) {
  for (const auto& kv : map) {
    const std::string k = kv.first.as<std::string>();
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      fail(path, kv.first, unknown_name_message(what + " key", k, allowed));
    }
  }
  for (const auto& k : allowed) {
    if (!map[k]) fail(path, map, fmt::format("{} is missing key '{}'", what, k));
  }
}

std::string scalar(const std::string& path, const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) fail(path, n, fmt::format("{}: expected a name", key));
  return n.as<std::string>();
}

int bits(const std::string& path, const YAML::Node& n, const std::string& key) {
  int v = 0;
  if (!n.IsScalar() || !YAML::convert<int>::decode(n, v)) {
    fail(path, n, fmt::format("{}: '{}' is not an integer", key, n.IsScalar() ? n.Scalar() : "(not a scalar)"));
  }
  if (v < 1 || v > 32) fail(path, n, fmt::format("{}: {} not in [1, 32]", key, v));
  return v;
}

std::string known_name(const std::string& path, const YAML::Node& n, const std::string& key, const std::string& what,
                       const std::vector<std::string>& known) {
  const std::string v = scalar(path, n, key);
  if (std::find(known.begin(), known.end(), v) == known.end()) {
    fail(path, n, fmt::format("{}: {}", key, unknown_name_message(what, v, known)));
  }
  return v;
}

}  // namespace

const std::vector<std::string>& table_models() {
  static const std::vector<std::string> m = {"resnet18", "resnet50", "mobilenetv2_1.0", "regnetx600m", "regnetx800m"};
  return m;
}

Anchors::Key Anchors::key(const AnchorRow& row, const std::string& model) {
  return {row.backend, published_label(row.w_calib), published_label(row.a_calib), row.wbit, row.abit, model};
}

Anchors Anchors::load(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw AnchorError(fmt::format("{}: cannot read anchor file", path));
  } catch (const YAML::ParserException& e) {
    throw AnchorError(fmt::format("{}: {}", at(path, e.mark), e.msg));
  }
  if (!root.IsMap()) fail(path, root, "expected a map with keys 'source', 'dataset', 'weights' and 'entries'");
  check_keys(path, root, {"source", "dataset", "weights", "entries"}, "anchor file");
  Anchors a;
  a.sources_.push_back(scalar(path, root["source"], "source"));
  a.files_.push_back(path);
  // Which data and weights the published numbers were measured on: a comparison is only
  // meaningful against results of the same dataset (render refuses others unless told).
  a.dataset_ = scalar(path, root["dataset"], "dataset");
  a.weights_ = scalar(path, root["weights"], "weights");
  const YAML::Node entries = root["entries"];
  if (!entries.IsSequence()) fail(path, entries, "entries: expected a list of rows");
  for (const auto& e : entries) {
    if (!e.IsMap()) fail(path, e, "entry: expected a map {w_calib, a_calib, backend, wbit, abit, top1}");
    check_keys(path, e, {"w_calib", "a_calib", "backend", "wbit", "abit", "top1"}, "anchor entry");
    AnchorRow row;
    row.w_calib = known_name(path, e["w_calib"], "w_calib", "calibrator", calibrator_keys());
    row.a_calib = known_name(path, e["a_calib"], "a_calib", "calibrator", calibrator_keys());
    row.backend = known_name(path, e["backend"], "backend", "backend", backend_keys());
    row.wbit = bits(path, e["wbit"], "wbit");
    row.abit = bits(path, e["abit"], "abit");
    if ((row.w_calib == "none") != (row.a_calib == "none")) {
      fail(path, e, "w_calib and a_calib must both be 'none' (the FP32 row) or both name calibrators");
    }
    const YAML::Node top1 = e["top1"];
    if (!top1.IsMap() || top1.size() == 0) fail(path, top1, "top1: expected a map of model: top-1 percent");
    for (const auto& kv : top1) {
      const std::string model = known_name(path, kv.first, "top1", "model", table_models());
      double v = 0;
      if (!kv.second.IsScalar() || !YAML::convert<double>::decode(kv.second, v)) {
        fail(path, kv.second, fmt::format("top1.{}: expected a number", model));
      }
      if (!(v >= 0 && v <= 100)) fail(path, kv.second, fmt::format("top1.{}: {} not in [0, 100]", model, v));
      const std::string where = at(path, kv.second.Mark());
      auto [it, fresh] = a.entries_.emplace(key(row, model), Entry{v, where});
      if (!fresh) fail(path, kv.first, fmt::format("top1.{}: this cell is already given at {}", model, it->second.where));
    }
  }
  return a;
}

void Anchors::merge(const Anchors& other) {
  if (other.dataset_ != dataset_) {
    throw AnchorError(fmt::format("anchor files of two datasets: '{}' ({}) and '{}' ({})", dataset_, sources_.front(),
                                  other.dataset_, other.sources_.front()));
  }
  if (other.weights_ != weights_) weights_ += "; " + other.weights_;
  for (const auto& [k, e] : other.entries_) {
    auto [it, fresh] = entries_.emplace(k, e);
    if (!fresh && it->second.top1 != e.top1) {
      throw AnchorError(fmt::format("{}: {:.2f} disagrees with {:.2f} at {}; load one of the two tables", e.where,
                                    e.top1, it->second.top1, it->second.where));
    }
  }
  sources_.insert(sources_.end(), other.sources_.begin(), other.sources_.end());
  files_.insert(files_.end(), other.files_.begin(), other.files_.end());
}

std::optional<double> Anchors::find(const AnchorRow& row, const std::string& model) const {
  auto it = entries_.find(key(row, model));
  if (it == entries_.end()) return std::nullopt;
  return it->second.top1;
}

Anchors load_anchors(const std::vector<std::string>& paths) {
  if (paths.empty()) throw AnchorError("no anchor file given");
  Anchors a = Anchors::load(paths.front());
  for (size_t i = 1; i < paths.size(); ++i) a.merge(Anchors::load(paths[i]));
  return a;
}

std::string check_anchor_dataset(const Anchors& anchors, const std::string& results_dataset,
                                 const std::string& results_path, bool allow_cross) {
  if (results_dataset == anchors.dataset()) return "";
  const std::string ours = results_dataset.empty() ? "an unrecorded dataset" : "dataset '" + results_dataset + "'";
  if (!allow_cross) {
    throw AnchorError(fmt::format(
        "{} holds results on {}, but the anchors of {} are published numbers on '{}' ({}): they are not "
        "comparable. Pass --cross-dataset to print them side by side anyway, labelled as such",
        results_path, ours, join(anchors.files()), anchors.dataset(), anchors.weights()));
  }
  return fmt::format("results on {} beside published numbers on '{}' ({}): different datasets, the deltas are not "
                     "a reproduction check",
                     ours, anchors.dataset(), anchors.weights());
}

double anchor_delta(double ours, double anchor) {
  const double d = std::round((std::round(ours * 100.0) / 100.0 - anchor) * 100.0) / 100.0;
  return d == 0.0 ? 0.0 : d;  // no -0.00
}

}  // namespace qsweep::results
