// Registry key → table label, read from the registries that own the labels.
#include "results/labels.h"

#include <utility>

#include "quant/backend.h"
#include "quant/observer.h"
#include "quant/reconstruct/reconstruct.h"

namespace qsweep::results {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

// Table order: FP32's "none", the observers in registry order, then the reconstructions; the labels
// are the registries' own (ObserverInfo::display_name, algorithm_label, BackendPolicy::display_name).
const Pairs& calibrators() {
  static const Pairs p = [] {
    Pairs out = {{"none", quant::reconstruct::algorithm_label(quant::reconstruct::Algorithm::kNone)}};
    for (const auto& o : quant::observer_registry()) out.emplace_back(o.name, o.display_name);
    for (const auto& name : quant::reconstruct::algorithm_names()) {
      out.emplace_back(name, quant::reconstruct::algorithm_label(quant::reconstruct::algorithm_from_name(name)));
    }
    return out;
  }();
  return p;
}

const Pairs& backends() {
  static const Pairs p = [] {
    Pairs out;
    for (const auto& name : quant::backend_names()) out.emplace_back(name, quant::backend(name).display_name);
    return out;
  }();
  return p;
}

std::vector<std::string> keys_of(const Pairs& pairs) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : pairs) keys.push_back(k);
  return keys;
}

std::optional<std::string> find(const Pairs& pairs, const std::string& key) {
  for (const auto& [k, v] : pairs) {
    if (k == key) return v;
  }
  return std::nullopt;
}

}  // namespace

const std::vector<std::string>& calibrator_keys() {
  static const auto k = keys_of(calibrators());
  return k;
}

const std::vector<std::string>& backend_keys() {
  static const auto k = keys_of(backends());
  return k;
}

std::optional<std::string> find_calibrator_label(const std::string& key) { return find(calibrators(), key); }
std::optional<std::string> find_backend_label(const std::string& key) { return find(backends(), key); }
std::string calibrator_label(const std::string& key) { return find_calibrator_label(key).value_or(key); }
std::string backend_label(const std::string& key) { return find_backend_label(key).value_or(key); }

std::string published_label(const std::string& key) {
  static const std::string kMark = "†";
  std::string label = calibrator_label(key);
  if (label.size() > kMark.size() && label.compare(label.size() - kMark.size(), kMark.size(), kMark) == 0) {
    label.resize(label.size() - kMark.size());
  }
  return label;
}

std::string calibrator_footnote(const std::string& key) {
  for (const auto& o : quant::observer_registry()) {
    if (o.name == key) return o.footnote;
  }
  return "";
}

}  // namespace qsweep::results
