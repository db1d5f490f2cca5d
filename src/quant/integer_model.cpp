// IntegerModel (integer_model.h): a plan of steps decided once from the quantized graph, run on
// LibTorch's quantized CPU kernels through the dispatcher (the ops have no C++ API of their own).
#include "quant/integer_model.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <ATen/core/grad_mode.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "graph/executor.h"
#include "graph/topology.h"
#include "quant/quantized_model.h"

namespace qsweep::quant {
namespace {

using graph::Node;
using graph::Op;

// Signed codes travel as quint8 offset by this (a quantized tensor's zero point absorbs it).
constexpr int64_t kSignedOffset = 128;
constexpr int64_t kCodeMin = 0, kCodeMax = 255;

// `overload`: quantized::conv2d(_relu)'s "" overload is the legacy one that takes the geometry
// again; "new" takes the packed parameters alone (LibTorch 1.13 and 2.x alike).
c10::IValue call_op(const char* name, std::vector<c10::IValue> args, const char* overload = "") {
  const auto op = c10::Dispatcher::singleton().findSchemaOrThrow(name, overload);
  torch::jit::Stack stack(std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
  op.callBoxed(&stack);
  return std::move(stack.front());
}

// An activation quantizer as the integer network needs it: its codes and how they are computed.
struct ActQuant {
  std::string name;
  float scale = 1;
  int64_t zero_point = 0;  // the cell's (signed ranges: before the offset)
  QRange range;
  FakeQuantKind kind = FakeQuantKind::kFixed;

  int64_t offset() const { return range.qmin < 0 ? kSignedOffset : 0; }
  // The quint8 codes of `x`, computed as fake_quantize computes q (same float32 operations).
  at::Tensor quantize(const at::Tensor& x) const {
    at::Tensor t = kind == FakeQuantKind::kFixed ? x * (1.0f / scale) : x / scale;
    t = t.round_().add_(static_cast<double>(zero_point)).clamp_(range.qmin, range.qmax).add_(offset());
    return at::_make_per_tensor_quantized_tensor(t.to(at::kByte), scale, zero_point + offset());
  }
  // Narrows an engine output (full quint8) to this quantizer's range, which may be smaller.
  at::Tensor clamp(const at::Tensor& q) const {
    if (range.qmin + offset() == kCodeMin && range.qmax + offset() == kCodeMax) return q;
    return at::clamp(q, scale * static_cast<double>(range.qmin - zero_point),
                     scale * static_cast<double>(range.qmax - zero_point));
  }
};

struct LayerWeight {
  c10::IValue packed;        // engine path
  at::Tensor codes;          // float64 integer weight (accumulator path)
  at::Tensor scale;          // float64 [C]
  c10::optional<at::Tensor> bias;
};

}  // namespace

struct IntegerModel::Impl {
  enum class Kind { kInput, kQuantize, kEngine, kAccumulate, kAdd, kQuantizedUnary, kFloat, kDone };
  struct Step {
    Kind kind = Kind::kFloat;
    int node = -1;
    int act = -1;         // kQuantize: the quantizer; kEngine / kAdd: the output quantizer (-1: none)
    int target = -1;      // kEngine / kAdd: the node whose value the fused step produces
    bool relu = false, relu6 = false;
    LayerWeight weight;   // kEngine / kAccumulate
    std::string how;
  };
  graph::Graph graph;  // the fake-quant graph's structure and float parameters
  std::vector<ActQuant> acts;
  std::vector<Step> steps;  // one per node, in node order
  std::vector<int> uses;    // per node: the steps that read its value (+1 for an output)
};

namespace {

// Whether this x86 CPU has VNNI (AVX512-VNNI or AVX-VNNI: u8 × s8 dot products into int32);
// without it oneDNN multiplies with vpmaddubsw, whose int16 pair sums saturate. Measured on an
// AVX2-only EPYC: 4 × 255 × 127 = 129540 came out as 65534 (docs/deployment.md).
bool cpu_has_vnni() {
#if defined(__x86_64__) || defined(__i386__)
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream flags(line.substr(line.find(':') + 1));
    std::string f;
    while (flags >> f) {
      if (f == "avx512_vnni" || f == "avx_vnni") return true;
    }
    return false;
  }
  return false;
#else
  return true;  // not x86: the saturation is an x86 kernel's
#endif
}

}  // namespace

QEngine select_qengine() {
  auto& ctx = at::globalContext();
  const auto engines = ctx.supportedQEngines();
  const auto has = [&](at::QEngine e) { return std::find(engines.begin(), engines.end(), e) != engines.end(); };
  if (has(at::QEngine::ONEDNN)) {
    ctx.setQEngine(at::QEngine::ONEDNN);
    static const bool vnni = cpu_has_vnni();
    if (vnni) return {"onednn", "oneDNN's x86 int8 kernels (this LibTorch has no fbgemm)", false};
    return {"onednn",
            "oneDNN's x86 int8 kernels (this LibTorch has no fbgemm); this CPU has no VNNI, so u8 x s8 products "
            "are summed in pairs into saturating int16: 8-bit weights can overflow (7 bits and fewer cannot)",
            true};
  }
  if (has(at::QEngine::QNNPACK)) {
    ctx.setQEngine(at::QEngine::QNNPACK);
    return {"qnnpack", "QNNPACK (this LibTorch has no oneDNN)"};
  }
  throw DeployRefusal("this LibTorch has no quantized CPU engine (neither onednn nor qnnpack)");
}

namespace {

using Impl = IntegerModel::Impl;
using Kind = Impl::Kind;

[[noreturn]] void refuse(const Node& n, const std::string& why) {
  throw DeployRefusal(fmt::format("node '{}' ({}): {}", n.name, graph::op_name(n.op), why));
}

// The single consumer of `id`, or -1 (none, several, or a graph output).
int only_consumer(const graph::Graph& g, const std::vector<std::vector<int>>& users, int id) {
  if (users[id].size() != 1 || graph::is_output(g, id)) return -1;
  return users[id].front();
}

// The activation quantizer a conv/linear/add output reaches through at most one ReLU/ReLU6.
struct Target {
  int fq = -1, activation = -1;
  bool relu6 = false;
};
Target find_target(const graph::Graph& g, const std::vector<std::vector<int>>& users, int id) {
  Target t;
  int next = only_consumer(g, users, id);
  if (next < 0) return t;
  const Op op = g.node(next).op;
  if (op == Op::kRelu || op == Op::kRelu6) {
    t.activation = next;
    t.relu6 = op == Op::kRelu6;
    next = only_consumer(g, users, next);
    if (next < 0) return {};
  }
  if (g.node(next).op != Op::kFakeQuant) return {};
  t.fq = next;
  return t;
}

LayerWeight convert_weight(QuantizedModel& qm, const Node& n, bool packed) {
  const WeightQuantizer* wq = qm.weight_of(n.name);
  if (!wq) refuse(n, "its weight has no quantizer");
  const QParams& qp = wq->quantizer.qparams();
  const QRange range = wq->quantizer.scheme().range();
  if (qp.zero_point.ne(0).any().item<bool>()) {
    refuse(n, "asymmetric weights (zero points other than 0): the quantized engines take symmetric int8 weights");
  }
  if (range.qmin < -128 || range.qmax > 127) refuse(n, "weights need more than int8");
  if (!wq->quantizer.scheme().per_channel && qp.scale.numel() != 1) refuse(n, "unexpected weight qparams");
  const auto hook = qm.exec_options().weight;
  const at::Tensor stored = qm.graph.param(n, "weight");
  const at::Tensor w = hook ? hook(n, stored) : stored;  // the fake-quantized weight the cell uses
  const int64_t c = w.size(0);
  const at::Tensor scale = qp.scale.to(at::kDouble).reshape({c == qp.scale.numel() ? c : 1});
  std::vector<int64_t> shape(static_cast<size_t>(w.dim()), 1);
  shape[0] = scale.numel();
  LayerWeight lw;
  lw.scale = scale.expand({c}).contiguous();
  lw.codes = (w.to(at::kDouble) / lw.scale.view(shape)).round_();
  if (qm.graph.has_param(n, "bias")) lw.bias = qm.graph.param(n, "bias").to(at::kFloat).contiguous();
  if (packed) {
    const at::Tensor qw = at::_make_per_channel_quantized_tensor(lw.codes.to(at::kChar), lw.scale,
                                                                 at::zeros({c}, at::kLong), 0);
    if (n.op == Op::kConv2d) {
      lw.packed = call_op("quantized::conv2d_prepack",
                          {qw, lw.bias, c10::List<int64_t>(n.attr_ints("stride")),
                           c10::List<int64_t>(n.attr_ints("padding")), c10::List<int64_t>(n.attr_ints("dilation")),
                           n.attr_int("groups")});
    } else {
      lw.packed = call_op("quantized::linear_prepack", {qw, lw.bias});
    }
  }
  return lw;
}

ActQuant convert_quantizer(const FakeQuant& fq, const ConvertOptions& options) {
  ActQuant a;
  a.name = fq.name();
  a.range = fq.scheme().range();
  if (fq.scheme().per_channel) throw DeployRefusal(fmt::format("{}: per-channel activations", a.name));
  if (a.range.qmin + a.offset() < kCodeMin || a.range.qmax + a.offset() > kCodeMax) {
    throw DeployRefusal(fmt::format("{}: more than 8 activation bits", a.name));
  }
  a.scale = fq.qparams().scale.item<float>();
  a.zero_point = fq.qparams().zero_point.item<int64_t>();
  a.kind = fq.spec().kind;
  auto it = options.zero_point_offsets.find(a.name);
  if (it != options.zero_point_offsets.end()) a.zero_point += it->second;
  if (a.zero_point + a.offset() < kCodeMin || a.zero_point + a.offset() > kCodeMax) {
    throw DeployRefusal(fmt::format("{}: zero point {} outside the 8-bit codes", a.name, a.zero_point));
  }
  return a;
}

}  // namespace

IntegerModel IntegerModel::convert(QuantizedModel& qm, const ConvertOptions& options) {
  if (qm.mode() != Mode::kQuantize) throw DeployRefusal("the model must be calibrated and in quantize mode");
  auto impl = std::make_shared<Impl>();
  impl->graph = qm.graph.clone();
  for (const auto& a : qm.activations) impl->acts.push_back(convert_quantizer(a, options));
  const graph::Graph& g = qm.graph;
  const auto users = graph::consumers(g);
  // What each node's value is when it runs: quantized (codes), float, or produced by a fused step.
  enum class Value { kFloat, kQuantized, kFusedInto };
  std::vector<Value> value(g.nodes.size(), Value::kFloat);
  impl->steps.resize(g.nodes.size());
  // A conv/linear/add that writes straight into the quantizer `t` found after it (its ReLU fused).
  const auto fuse = [&](Impl::Step& s, const Target& t, Kind kind, const std::string& op) {
    s.kind = kind;
    s.act = static_cast<int>(g.node(t.fq).attr_int("quantizer"));
    s.target = t.fq;
    s.relu = t.activation >= 0 && !t.relu6;
    s.relu6 = t.relu6;
    if (t.activation >= 0) value[t.activation] = Value::kFusedInto;
    value[t.fq] = Value::kFusedInto;
    s.how = fmt::format("quantized::{}{} → {}", op, s.relu ? "_relu" : s.relu6 ? " + relu6" : "", g.node(t.fq).name);
  };
  for (const Node& n : g.nodes) {
    Impl::Step& s = impl->steps[n.id];
    s.node = n.id;
    if (value[n.id] == Value::kFusedInto) {
      s.kind = Kind::kDone;
      value[n.id] = Value::kQuantized;
      continue;
    }
    const auto in_quantized = [&](size_t i) { return value[n.inputs.at(i)] == Value::kQuantized; };
    switch (n.op) {
      case Op::kInput:
        s.kind = Kind::kInput;
        break;
      case Op::kFakeQuant:
        s.kind = Kind::kQuantize;
        s.act = static_cast<int>(n.attr_int("quantizer"));
        s.how = in_quantized(0) ? "requantize" : "quantize";
        value[n.id] = Value::kQuantized;
        break;
      case Op::kConv2d:
      case Op::kLinear: {
        if (!in_quantized(0)) refuse(n, "its input is not quantized (no activation quantizer before it)");
        const Target t = find_target(g, users, n.id);
        const bool engine = t.fq >= 0;
        s.weight = convert_weight(qm, n, engine);
        const std::string op = n.op == Op::kConv2d ? "conv2d" : "linear";
        if (engine) {
          fuse(s, t, Kind::kEngine, op);
        } else {
          s.kind = Kind::kAccumulate;
          s.how = fmt::format("int32 accumulator of {}, dequantized (no quantizer follows)", op);
        }
        value[n.id] = Value::kFloat;  // the accumulator path; the engine path writes its target
        break;
      }
      case Op::kAdd: {
        const Target t = find_target(g, users, n.id);
        if (in_quantized(0) && in_quantized(1) && t.fq >= 0) {
          fuse(s, t, Kind::kAdd, "add");
        } else {
          s.kind = Kind::kFloat;
          s.how = "float add of dequantized operands";
        }
        break;
      }
      case Op::kBatchNorm2d:
        refuse(n, "a BatchNorm left in float between integer layers; a deployment folds it into the conv "
                  "(the Academic backend does not)");
      case Op::kRelu:
      case Op::kRelu6:
      case Op::kMaxPool2d:
      case Op::kAdaptiveAvgPool2d:
      case Op::kMean:
      case Op::kFlatten:
      case Op::kDropout:
        if (in_quantized(0)) {
          s.kind = Kind::kQuantizedUnary;
          s.how = "on the codes";
          value[n.id] = Value::kQuantized;
        } else {
          s.kind = Kind::kFloat;
          s.how = "float";
        }
        break;
    }
  }
  // Who reads each value, so run() frees it after its last reader (a fused step reads its own input).
  impl->uses.assign(g.nodes.size(), 0);
  for (const Impl::Step& s : impl->steps) {
    if (s.kind == Kind::kDone || s.kind == Kind::kInput) continue;
    for (int i : g.node(s.node).inputs) ++impl->uses[i];
  }
  for (int o : g.outputs) ++impl->uses[o];
  IntegerModel m;
  m.impl_ = std::move(impl);
  return m;
}

namespace {

at::Tensor quantized_unary(const Node& n, const at::Tensor& q) {
  switch (n.op) {
    case Op::kRelu: return at::relu(q);
    case Op::kRelu6: return at::hardtanh(q, 0.0, 6.0);
    case Op::kMaxPool2d:
      return at::max_pool2d(q, n.attr_ints("kernel"), n.attr_ints("stride"), n.attr_ints("padding"));
    case Op::kAdaptiveAvgPool2d: return at::adaptive_avg_pool2d(q, n.attr_ints("output_size"));
    case Op::kMean: return at::adaptive_avg_pool2d(q, {1, 1}).reshape({q.size(0), q.size(1)});
    case Op::kFlatten: return q.reshape({q.size(0), -1});
    case Op::kDropout: return q;
    default: break;
  }
  throw DeployRefusal(fmt::format("node '{}': no quantized form", n.name));
}

at::Tensor dequantized(const at::Tensor& v) { return v.is_quantized() ? v.dequantize() : v; }

// The exact integer accumulator of a conv/linear on codes, dequantized: Σ (q_x − zp_x)·q_w in
// float64 (exact for the sums of 8-bit products any layer here reaches), × s_x·s_w[c], + bias.
at::Tensor accumulate(const Node& n, const LayerWeight& w, const at::Tensor& qx) {
  const at::Tensor x = qx.int_repr().to(at::kDouble).sub_(static_cast<double>(qx.q_zero_point()));
  at::Tensor acc = n.op == Op::kConv2d ? at::conv2d(x, w.codes, {}, n.attr_ints("stride"), n.attr_ints("padding"),
                                                    n.attr_ints("dilation"), n.attr_int("groups"))
                                       : at::linear(x, w.codes);
  std::vector<int64_t> shape(static_cast<size_t>(acc.dim()), 1);
  shape[1] = w.scale.numel();
  at::Tensor y = acc.mul_(w.scale.view(shape) * qx.q_scale()).to(at::kFloat);
  if (w.bias) {
    std::vector<int64_t> bshape(static_cast<size_t>(y.dim()), 1);
    bshape[1] = w.bias->numel();
    y.add_(w.bias->view(bshape));
  }
  return y;
}

}  // namespace

at::Tensor IntegerModel::run(const at::Tensor& images, const Observer& on_output, const Substitute& substitute) const {
  at::NoGradGuard no_grad;
  const Impl& m = *impl_;
  const graph::Graph& g = m.graph;
  std::vector<at::Tensor> values(g.nodes.size());
  std::vector<int> uses = m.uses;
  // After a step: its inputs' values go once their last reader has run (as graph::run frees them).
  const auto release_inputs = [&](const Node& n) {
    for (int i : n.inputs) {
      if (--uses[i] == 0) values[i] = at::Tensor();
    }
  };
  const auto report = [&](int id) {
    const Node& n = g.node(id);
    if (on_output) on_output(n, dequantized(values[id]));
    if (!substitute || n.op != Op::kFakeQuant) return;
    const at::Tensor replacement = substitute(n);
    if (replacement.defined()) values[id] = m.acts[n.attr_int("quantizer")].quantize(replacement);
  };
  for (const Impl::Step& s : m.steps) {
    const Node& n = g.node(s.node);
    const auto in = [&](size_t i) -> const at::Tensor& {
      const at::Tensor& v = values.at(n.inputs.at(i));
      if (!v.defined()) throw DeployRefusal(fmt::format("node '{}': input '{}' has no value", n.name,
                                                        g.node(n.inputs.at(i)).name));
      return v;
    };
    switch (s.kind) {
      case Kind::kDone: continue;
      case Kind::kInput: values[n.id] = images.contiguous(); continue;
      case Kind::kQuantize: values[n.id] = m.acts[s.act].quantize(dequantized(in(0))); break;
      case Kind::kEngine: {
        const ActQuant& out = m.acts[s.act];
        const double scale = out.scale;
        const int64_t zp = out.zero_point + out.offset();
        const char* op = n.op == Op::kConv2d ? (s.relu ? "quantized::conv2d_relu" : "quantized::conv2d")
                                             : (s.relu ? "quantized::linear_relu" : "quantized::linear");
        at::Tensor y = call_op(op, {in(0), s.weight.packed, scale, zp}, n.op == Op::kConv2d ? "new" : "").toTensor();
        if (s.relu6) y = at::hardtanh(y, 0.0, 6.0);
        values[s.target] = out.clamp(y);
        report(s.target);
        release_inputs(n);
        continue;
      }
      case Kind::kAccumulate: values[n.id] = accumulate(n, s.weight, in(0)); break;
      case Kind::kAdd: {
        const ActQuant& out = m.acts[s.act];
        at::Tensor y = call_op(s.relu ? "quantized::add_relu" : "quantized::add",
                               {in(0), in(1), static_cast<double>(out.scale), out.zero_point + out.offset()})
                           .toTensor();
        if (s.relu6) y = at::hardtanh(y, 0.0, 6.0);
        values[s.target] = out.clamp(y);
        report(s.target);
        release_inputs(n);
        continue;
      }
      case Kind::kQuantizedUnary: values[n.id] = quantized_unary(n, in(0)); break;
      case Kind::kFloat: {
        std::vector<at::Tensor> inputs;
        for (int i : n.inputs) inputs.push_back(dequantized(values.at(i)));
        values[n.id] = graph::apply_node(g, n, inputs, {});
        break;
      }
    }
    report(n.id);
    release_inputs(n);
  }
  return dequantized(values.at(g.outputs.front()));
}

std::vector<IntegerModel::StepInfo> IntegerModel::steps() const {
  std::vector<StepInfo> out;
  const graph::Graph& g = impl_->graph;
  for (const Impl::Step& s : impl_->steps) {
    if (s.kind == Kind::kInput || s.kind == Kind::kDone) continue;
    out.push_back({g.node(s.node).name, g.node(s.target >= 0 ? s.target : s.node).name, s.how});
  }
  return out;
}

}  // namespace qsweep::quant
