// Academic (SPEC §3.1, MQBench academic_quantizer): no fusion at all — BatchNorm stays a float
// op after the conv and weights are quantized raw; activation quantizers only on inputs of
// conv/linear; weights asymmetric per-channel, activations asymmetric per-tensor (the benchmark's
// qschemes); the first conv and the last linear use 8-bit weights and 8-bit input quantizers.
#include "quant/backend.h"

namespace qsweep::quant {

const BackendPolicy& academic_backend() {
  static const BackendPolicy policy = [] {
    BackendPolicy p;
    p.name = "academic";
    p.display_name = "Academic";
    p.passes = {"assign-defaults", "first-last-8bit", "layer-overrides", "insert-quantizers"};
    p.quantized_consumers = {graph::Op::kConv2d, graph::Op::kLinear};
    p.weight = QScheme{8, /*symmetric=*/false, /*per_channel=*/true, /*ch_axis=*/0};
    p.activation = QScheme{8, false, false};
    return p;
  }();
  return policy;
}

}  // namespace qsweep::quant
