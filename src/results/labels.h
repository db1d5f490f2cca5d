// Table labels of registry keys: the names the MQBench table prints for calibrators and
// backends. Both `ema_quantile` (corrected) and `ema_quantile_legacy` (the code behind the
// published numbers) print as "EMAQuantile"; "none" is the FP32 row's calibrator.
//
//   calibrator_label("ema_mse") == "EMAMSE";  backend_label("tensorrt") == "TensorRT";
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

}  // namespace qsweep::results
