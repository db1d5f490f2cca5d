#include "pipeline/calibrators.h"

#include <fmt/format.h>

namespace qsweep::pipeline {

std::vector<std::string> reconstruction_calibrator_names() { return quant::reconstruct::algorithm_names(); }

std::optional<ReconstructionCalibrator> reconstruction_of(const std::string& w_calib) {
  using quant::reconstruct::Algorithm;
  for (const auto& name : reconstruction_calibrator_names()) {
    if (name != w_calib) continue;
    ReconstructionCalibrator r;
    r.algorithm = quant::reconstruct::algorithm_from_name(name);
    if (r.algorithm == Algorithm::kBrecq || r.algorithm == Algorithm::kQDrop) {
      r.activation_kind = quant::FakeQuantKind::kDividing;  // QDropFakeQuantize in their configs
    }
    return r;
  }
  return std::nullopt;
}

TaskSpec resolve_calibrators(const TaskSpec& spec) {
  using quant::reconstruct::Algorithm;
  TaskSpec out = spec;
  if (const auto r = reconstruction_of(spec.calib.w_observer)) {
    if (spec.reconstruction.algorithm != Algorithm::kNone && spec.reconstruction.algorithm != r->algorithm) {
      throw TaskError(fmt::format("weight calibrator '{}' contradicts reconstruction.algorithm '{}'",
                                  spec.calib.w_observer, quant::reconstruct::algorithm_name(spec.reconstruction.algorithm)));
    }
    out.calib.w_observer = r->weight_observer;
    out.calib.w_p = r->w_p;
    out.calib.a_p = r->a_p;
    out.reconstruction.algorithm = r->algorithm;
  }
  if (out.reconstruction.learns_activation_scales()) out.calib.a_fake_quant = quant::FakeQuantKind::kDividing;
  return out;
}

}  // namespace qsweep::pipeline
