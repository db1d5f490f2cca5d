// Weight calibrators that are reconstruction algorithms: `adaround`, `brecq` and `qdrop` stand where
// a sweep names the weight calibrator (the "W calib" column of SPEC §6.2 table C). The published
// configs (SPEC §6.1) pair each with an MSE weight observer and EMAMSE activations, both p = 2.4;
// BRECQ and QDrop also use the dividing activation quantizer whose scale they learn. This file is
// the one place that mapping lives.
//
//   for (const auto& name : pipeline::reconstruction_calibrator_names()) ...   // sweep validation
//   if (auto r = pipeline::reconstruction_of("qdrop")) spec.calib.a_observer = r->activation_observer;
//   TaskSpec resolved = pipeline::resolve_calibrators(spec);   // what run_task runs
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pipeline/task.h"

namespace qsweep::pipeline {

struct ReconstructionCalibrator {
  quant::reconstruct::Algorithm algorithm;
  std::string weight_observer = "mse";  // MSEObserver, p = 2.4
  double w_p = 2.4;
  std::string activation_observer = "ema_mse";  // the published pairing (run_task keeps the task's own)
  double a_p = 2.4;
  quant::FakeQuantKind activation_kind = quant::FakeQuantKind::kFixed;
};

// "adaround", "brecq", "qdrop".
std::vector<std::string> reconstruction_calibrator_names();
// The reconstruction a weight-calibrator name stands for; nullopt for plain observers ("mse").
std::optional<ReconstructionCalibrator> reconstruction_of(const std::string& w_calib);

// The spec run_task executes: a reconstruction weight calibrator becomes its weight observer
// (mse, p 2.4), a_p = 2.4 and reconstruction.algorithm; an algorithm that learns activation scales
// gets the dividing activation quantizer. Throws TaskError when calib.w_observer and
// reconstruction.algorithm name different algorithms.
TaskSpec resolve_calibrators(const TaskSpec& spec);

}  // namespace qsweep::pipeline
