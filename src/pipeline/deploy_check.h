// The deployment check of one calibrated cell (issue 13): its quantized model run in integer
// arithmetic (quant/integer_model.h) beside the fake-quant ("simulated") model on the whole
// evaluation split, and the per-layer gap on the first 32 images of the first evaluation batch.
//
//   qm.set_mode(quant::Mode::kQuantize);
//   DeployResult d = deploy_check(qm, data);      // d.refused says why when it cannot run
//   fmt::print("int top-1 {:.2f}%, agreement {:.2%}\n", d.integer.top1_percent(), d.agreement());
#pragma once

#include "pipeline/task.h"
#include "quant/integer_model.h"

namespace qsweep::quant {
class QuantizedModel;
}

namespace qsweep::pipeline {

// `qm` must be calibrated and in quantize mode. A refusal is a result, not an error.
DeployResult deploy_check(quant::QuantizedModel& qm, TaskData& data, const quant::ConvertOptions& options = {});

}  // namespace qsweep::pipeline
