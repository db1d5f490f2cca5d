// The registry key → table label mapping (one table, here only).
#include "results/labels.h"

#include <utility>

namespace qsweep::results {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

const Pairs& calibrators() {
  static const Pairs p = {{"none", "None"},       {"minmax", "MinMax"},
                          {"ema_minmax", "EMAMinMax"}, {"ema_quantile", "EMAQuantile"},
                          {"ema_quantile_legacy", "EMAQuantile"}, {"mse", "MSE"},
                          {"ema_mse", "EMAMSE"},   {"adaround", "AdaRound"},
                          {"brecq", "BRECQ"},      {"qdrop", "QDrop"}};
  return p;
}

const Pairs& backends() {
  static const Pairs p = {{"academic", "Academic"}, {"tensorrt", "TensorRT"}};
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

}  // namespace qsweep::results
