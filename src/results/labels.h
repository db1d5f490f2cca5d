// Table labels of registry keys: the names the MQBench table prints for calibrators and
// backends; "none" is the FP32 row's calibrator. `ema_quantile_legacy` (the code behind the
// published EMAQuantile numbers, effectively EMAMinMax) prints as "EMAQuantile†" with a footnote
// saying so, `ema_quantile` (corrected) as "EMAQuantile"; both match the published EMAQuantile row.
//
//   calibrator_label("ema_mse") == "EMAMSE";  backend_label("tensorrt") == "TensorRT";
//   calibrator_label("ema_quantile_legacy") == "EMAQuantile†";  published_label(that) == "EMAQuantile"
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace qsweep::results {

// Keys in table order: none, minmax, ema_minmax, ema_quantile, ema_quantile_legacy, mse, ema_mse,
// adaround, brecq, qdrop.
const std::vector<std::string>& calibrator_keys();
// academic, tensorrt.
const std::vector<std::string>& backend_keys();

std::optional<std::string> find_calibrator_label(const std::string& key);
std::optional<std::string> find_backend_label(const std::string& key);
// The label, or the key itself for a name the mapping does not know (a newer calibrator).
std::string calibrator_label(const std::string& key);
std::string backend_label(const std::string& key);
// The label without its footnote mark: the name the published table prints (anchors match by it).
std::string published_label(const std::string& key);
// The footnote a table, plot or comparison prints under a marked label; empty for the others.
std::string calibrator_footnote(const std::string& key);

}  // namespace qsweep::results
