// The integer executor (quant/integer_model.h) against the fake-quant model it was converted from.
// The demo zoo's figures (trained weights, Fashion-MNIST) are checked by
// tests/integration/deploy_check_test.sh; these use random weights and data.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "graph/executor.h"
#include "models/zoo.h"
#include "quant/integer_model.h"
#include "quant/quantized_model.h"

namespace qsweep::quant {
namespace {

// A calibrated model of the demo zoo's shape (random weights), in quantize mode.
QuantizedModel calibrated(const std::string& model, const std::string& backend_name, int wbit = 8,
                          const std::string& w_observer = "minmax") {
  at::manual_seed(3);
  CalibrationConfig c;
  c.w_observer = w_observer;
  c.wbit = wbit;
  QuantizedModel qm = prepare(models::build_model(model, models::ModelOptions::fashion_mnist(0.25)),
                              backend(backend_name), c);
  at::NoGradGuard no_grad;
  qm.set_mode(Mode::kCalibrateActivations);
  for (int i = 0; i < 4; ++i) graph::run(qm.graph, at::randn({16, 1, 28, 28}), qm.exec_options());
  qm.calibrate_weights();
  qm.set_mode(Mode::kQuantize);
  return qm;
}

// Max |integer − simulated| per node on one batch, and the scale of the quantizer at that node.
struct Gap {
  double diff = 0, scale = 0;
};
std::map<std::string, Gap> gaps(QuantizedModel& qm, const IntegerModel& im, const at::Tensor& x) {
  at::NoGradGuard no_grad;
  std::map<int, at::Tensor> simulated;
  auto o = qm.exec_options();
  o.on_output = [&](const graph::Node& n, const at::Tensor& v) { simulated[n.id] = v; };
  graph::run(qm.graph, x, o);
  std::map<std::string, Gap> out;
  im.run(x, [&](const graph::Node& n, const at::Tensor& v) {
    Gap g;
    g.diff = (v - simulated.at(n.id)).abs().max().item<double>();
    if (n.op == graph::Op::kFakeQuant) g.scale = qm.activation_of(n).qparams().scale.item<double>();
    out[n.name] = g;
  });
  return out;
}

class IntegerModelTest : public ::testing::Test {
 protected:
  void SetUp() override { engine_ = select_qengine(); }
  QEngine engine_;
};

TEST_F(IntegerModelTest, TheEngineIsNamed) {
  EXPECT_TRUE(engine_.name == "onednn" || engine_.name == "qnnpack") << engine_.name;
  EXPECT_FALSE(engine_.why.empty());
}

// The input quantizer's codes are the simulation's exactly; the first conv, fed identical codes,
// differs by at most one step of its output quantizer (the engine's requantization rounding and
// float bias); the network's predictions mostly agree.
TEST_F(IntegerModelTest, TensorRTResNetMatchesTheSimulationStepByStep) {
  auto qm = calibrated("resnet18", "tensorrt");
  const IntegerModel im = IntegerModel::convert(qm);
  at::manual_seed(4);
  const at::Tensor x = at::randn({32, 1, 28, 28});
  const auto g = gaps(qm, im, x);
  const std::string input = activation_quantizer_name("x"), stem = activation_quantizer_name("relu");
  ASSERT_TRUE(g.count(input) && g.count(stem)) << "no gap reported at " << input << " or " << stem;
  EXPECT_EQ(g.at(input).diff, 0.0);
  EXPECT_LE(g.at(stem).diff, 1.0001 * g.at(stem).scale) << "stem conv: more than one step";
  at::NoGradGuard no_grad;
  const at::Tensor sim = graph::run(qm.graph, x, qm.exec_options()), integer = im.run(x);
  EXPECT_EQ(integer.sizes(), sim.sizes());
  const double agree = integer.argmax(1).eq(sim.argmax(1)).to(at::kDouble).mean().item<double>();
  EXPECT_GE(agree, 0.9) << "random weights, 8 bits";
  bool fused = false;
  for (const auto& s : im.steps()) fused = fused || s.how.find("quantized::conv2d_relu") != std::string::npos;
  EXPECT_TRUE(fused);
}

// MobileNetV2: depthwise convs, ReLU6, residual adds without ReLU, and a last conv whose output
// reaches no quantizer (relu6 → mean): its accumulator is dequantized.
TEST_F(IntegerModelTest, TensorRTMobileNetV2RunsWithItsFloatTail) {
  auto qm = calibrated("mobilenetv2_1.0", "tensorrt", 4, "mse");
  const IntegerModel im = IntegerModel::convert(qm);
  bool accumulator = false, add = false;
  for (const auto& s : im.steps()) {
    accumulator = accumulator || s.how.find("accumulator") != std::string::npos;
    add = add || s.how.find("quantized::add") != std::string::npos;
  }
  EXPECT_TRUE(accumulator);
  EXPECT_TRUE(add);
  at::manual_seed(5);
  const at::Tensor x = at::randn({16, 1, 28, 28});
  at::NoGradGuard no_grad;
  const at::Tensor sim = graph::run(qm.graph, x, qm.exec_options()), integer = im.run(x);
  EXPECT_EQ(integer.sizes(), sim.sizes());
  EXPECT_TRUE(integer.isfinite().all().item<bool>());
}

// A zero point off by one in one quantizer (a deployment bug) shows at that quantizer: a gap of a
// whole step where the correct conversion has none.
TEST_F(IntegerModelTest, AZeroPointOffByOneShowsInThePerLayerGaps) {
  auto qm = calibrated("resnet18", "tensorrt");
  const std::string input = activation_quantizer_name("x");
  const IntegerModel good = IntegerModel::convert(qm);
  const IntegerModel bad = IntegerModel::convert(qm, {{{input, 1}}});
  at::manual_seed(6);
  const at::Tensor x = at::randn({8, 1, 28, 28});
  const auto g = gaps(qm, good, x), b = gaps(qm, bad, x);
  EXPECT_EQ(g.at(input).diff, 0.0);
  EXPECT_GE(b.at(input).diff, 0.99 * b.at(input).scale);
}

TEST_F(IntegerModelTest, AcademicCellsAreRefusedNamingTheLayer) {
  auto qm = calibrated("resnet18", "academic");
  try {
    IntegerModel::convert(qm);
    FAIL() << "an Academic cell converted";
  } catch (const DeployRefusal& e) {
    EXPECT_NE(std::string(e.what()).find("node 'conv1' (conv2d): asymmetric weights"), std::string::npos) << e.what();
  }
}

TEST_F(IntegerModelTest, AFloatBatchNormIsRefused) {
  // TensorRT folds a BatchNorm that follows a conv; one after an add stays, with quantized input.
  at::manual_seed(7);
  graph::Builder b("bn_after_add");
  int x = b.input("x");
  int c = b.relu("relu", b.conv2d("conv1", x, 1, 4, 3, 1, 1));
  int y = b.batch_norm("bn", b.add("add", b.conv2d("conv2", c, 4, 4, 3, 1, 1), c), 4);
  b.output(b.linear("fc", b.flatten("flatten", b.adaptive_avg_pool2d("pool", y)), 4, 3));
  QuantizedModel qm = prepare(b.finish(), tensorrt_backend(), {});
  {
    at::NoGradGuard no_grad;
    qm.set_mode(Mode::kCalibrateActivations);
    graph::run(qm.graph, at::randn({4, 1, 8, 8}), qm.exec_options());
    qm.calibrate_weights();
    qm.set_mode(Mode::kQuantize);
  }
  try {
    IntegerModel::convert(qm);
    FAIL() << "a float BatchNorm converted";
  } catch (const DeployRefusal& e) {
    EXPECT_NE(std::string(e.what()).find("node 'bn' (batch_norm"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("BatchNorm left in float"), std::string::npos) << e.what();
  }
}

TEST_F(IntegerModelTest, AnUncalibratedModelIsRefused) {
  CalibrationConfig c;
  QuantizedModel qm = prepare(models::build_model("resnet18", models::ModelOptions::fashion_mnist(0.125)),
                              tensorrt_backend(), c);
  EXPECT_THROW(IntegerModel::convert(qm), DeployRefusal);
}

}  // namespace
}  // namespace qsweep::quant
