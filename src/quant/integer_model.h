// A calibrated quantized model run in real integer arithmetic: LibTorch's quantized CPU engine
// (onednn, else qnnpack) with exactly the cell's qparams — the deployment check of issue 13.
//
//   qm.set_mode(Mode::kQuantize);                            // calibrated, fake-quant on
//   QEngine engine = select_qengine();                       // "onednn" on x86
//   IntegerModel im = IntegerModel::convert(qm);             // throws DeployRefusal naming a layer
//   at::Tensor logits = im.run(images);                      // float logits of the integer network
//
// How each node runs (docs/deployment.md has the table and the measured gaps):
// - an activation quantizer turns its float input into uint8 codes with the fake-quant's own
//   rounding (so codes equal the simulated ones exactly), signed ranges offset by 128;
// - a conv/linear whose output reaches a quantizer (directly or through one ReLU/ReLU6) is
//   quantized::conv2d(_relu) / linear(_relu) with int8 per-channel weights (the cell's codes) and
//   that quantizer's scale and zero point as output: the engine requantizes (its rounding, its
//   float bias) — the gap the check measures;
// - a conv/linear whose output reaches no quantizer (the classifier, MobileNetV2's last conv)
//   computes its integer accumulator exactly (int8 × uint8 products summed in float64, exact
//   below 2^53) and dequantizes it, as a deployment's float-output layer does;
// - add with both operands quantized is quantized::add(_relu) to its quantizer; max pooling,
//   ReLU and reshapes run on the codes; average pooling and means use the engine's quantized
//   kernels (which round to the input's grid);
// - anything an integer deployment cannot represent is refused, naming the layer: asymmetric
//   weights (the engines take symmetric int8 weights), a BatchNorm left in float (Academic keeps
//   it unfolded), a conv or linear whose input is not quantized, more than 8 bits.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "quant/qscheme.h"

namespace qsweep::quant {

class QuantizedModel;

// A cell an integer deployment cannot represent as it is; the message names the layer and why.
class DeployRefusal : public QuantError {
 public:
  using QuantError::QuantError;
};

// The quantized engine this process runs (and why that one); selecting it sets LibTorch's.
struct QEngine {
  std::string name;  // "onednn", "qnnpack"
  std::string why;
  // x86 without VNNI: the kernels sum u8 × s8 products in pairs into saturating int16, so a pair
  // of 8-bit weights times large activation codes (2 · 255 · 127 > 32767) loses its excess.
  bool pairs_saturate = false;
};
QEngine select_qengine();

struct ConvertOptions {
  // Added to the named activation quantizers' zero points: a deliberate deployment bug, which the
  // per-layer comparison must show (tests).
  std::map<std::string, int64_t> zero_point_offsets;
};

class IntegerModel {
 public:
  // Converts `qm` (calibrated, in Mode::kQuantize) with exactly its qparams and quantized weights.
  static IntegerModel convert(QuantizedModel& qm, const ConvertOptions& options = {});

  // Float logits of the integer network. `on_output` sees each computed value, dequantized, with
  // the node it stands for (a fused conv+ReLU's output is reported at its quantizer's node).
  // `substitute`, when it returns a tensor for a quantizer's node, replaces the integer value
  // there (after on_output saw it) by that tensor quantized: fed the simulated values, each
  // layer's gap is then its own, not the sum of the drift before it.
  using Observer = std::function<void(const graph::Node&, const at::Tensor&)>;
  using Substitute = std::function<at::Tensor(const graph::Node&)>;
  at::Tensor run(const at::Tensor& images, const Observer& on_output = {}, const Substitute& substitute = {}) const;

  // How each node runs, in node order (the input and fused nodes left out).
  struct StepInfo {
    std::string node;         // "layer1.0.conv1"
    std::string reported_at;  // where run() reports its value: the node, or a fused step's quantizer
    std::string how;          // "quantized::conv2d_relu → layer1_0_relu1_post_act_fake_quantizer"
  };
  std::vector<StepInfo> steps() const;

  struct Impl;

 private:
  std::shared_ptr<const Impl> impl_;
};

}  // namespace qsweep::quant
