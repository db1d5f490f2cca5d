// TensorRT (SPEC §3.2, MQBench's Tensorrt ParamsTable with the base ModelQuantizer): BatchNorm
// folded into convs; symmetric per-channel weights and symmetric per-tensor activations; an
// activation quantizer on every input of conv, linear, pooling, (unfused) BatchNorm and add —
// both add operands. No first/last special case. Range [−127, 127] by default, [−128, 127] (the
// published table's) with symmetric_range = false.
#include "quant/backend.h"

namespace qsweep::quant {

const BackendPolicy& tensorrt_backend() {
  static const BackendPolicy policy = [] {
    BackendPolicy p;
    p.name = "tensorrt";
    p.display_name = "TensorRT";
    p.passes = {"fold-bn", "assign-defaults", "layer-overrides", "insert-quantizers"};
    p.quantized_consumers = {graph::Op::kConv2d,    graph::Op::kLinear,           graph::Op::kMaxPool2d,
                             graph::Op::kAdaptiveAvgPool2d, graph::Op::kBatchNorm2d, graph::Op::kAdd};
    p.weight = QScheme{8, /*symmetric=*/true, /*per_channel=*/true, /*ch_axis=*/0};
    p.activation = QScheme{8, true, false};
    p.honours_symmetric_range = true;
    return p;
  }();
  return policy;
}

}  // namespace qsweep::quant
