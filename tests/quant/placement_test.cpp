// SPEC §3 / §9.2–9.3: where each backend puts its quantizers and at which bit widths.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <map>

#include "graph/executor.h"
#include "models/zoo.h"
#include "quant/quantized_model.h"

namespace qsweep::quant {
namespace {

std::map<std::string, int> placement(const std::string& model, const std::string& backend_name, int wbit = 4,
                                     int abit = 4) {
  CalibrationConfig c;
  c.wbit = wbit;
  c.abit = abit;
  auto qm = prepare(models::build_model(model), backend(backend_name), c);
  std::map<std::string, int> out;
  for (const auto& a : qm.activations) out[a.name()] = a.scheme().bits;
  return out;
}

std::string q(const std::string& producer) { return activation_quantizer_name(producer); }

TEST(Placement, AcademicResNet18MatchesTheLoggedList) {
  std::map<std::string, int> expected = {{q("x"), 8}, {q("maxpool"), 4}, {q("reshape"), 8}};
  for (int stage = 1; stage <= 4; ++stage) {
    for (int blk = 0; blk < 2; ++blk) {
      const std::string p = "layer" + std::to_string(stage) + "." + std::to_string(blk);
      expected[q(p + ".relu1")] = 4;
      if (!(stage == 4 && blk == 1)) expected[q(p + ".relu2")] = 4;  // the last block feeds avgpool
    }
  }
  EXPECT_EQ(placement("resnet18", "academic"), expected);
}

TEST(Placement, AcademicFirstAndLastWeightsAreEightBit) {
  CalibrationConfig c;
  c.wbit = 2;
  c.abit = 4;
  auto qm = prepare(models::build_model("resnet18"), academic_backend(), c);
  for (const auto& w : qm.weights) {
    const bool edge = w.node == "conv1" || w.node == "fc";
    EXPECT_EQ(w.quantizer.scheme().bits, edge ? 8 : 2) << w.node;
    EXPECT_TRUE(w.quantizer.scheme().per_channel);
    EXPECT_FALSE(w.quantizer.scheme().symmetric);
  }
  EXPECT_EQ(qm.weights.size(), 21u);  // 20 convs (incl. 3 downsample) + fc
  // No folding: every BatchNorm is still there, after its conv.
  EXPECT_GE(qm.graph.find("layer1.0.bn1"), 0);
}

TEST(Placement, AcademicResidualPathReadsTheQuantizedTensor) {
  auto qm = prepare(models::build_model("resnet18"), academic_backend(), {});
  const auto& g = qm.graph;
  const auto& add = g.node(g.find("layer1.1.add"));
  EXPECT_EQ(g.node(add.inputs[1]).name, q("layer1.0.relu2"));
  EXPECT_EQ(g.node(g.node(g.find("layer1.0.add")).inputs[1]).name, q("maxpool"));
}

TEST(Placement, AcademicResNet50) {
  const auto p = placement("resnet50", "academic");
  int relu3 = 0;
  for (const auto& [name, bits] : p) relu3 += name.find("relu3") != std::string::npos;
  EXPECT_EQ(relu3, 15);  // 16 blocks, the last feeds avgpool
  EXPECT_EQ(p.size(), 2u + 16 * 2 + 15 + 1);
  EXPECT_EQ(p.at(q("x")), 8);
  EXPECT_EQ(p.at(q("reshape")), 8);
}

TEST(Placement, AcademicRegNetX) {
  for (const char* m : {"regnetx600m", "regnetx800m"}) {
    const auto p = placement(m, "academic");
    const auto g = models::build_model(m);
    std::map<std::string, int> expected = {{q("x"), 8}, {q("stem.relu"), 4}, {q("head.reshape"), 8}};
    std::string last_block;
    for (const auto& n : g.nodes) {
      if (n.name.size() > 6 && n.name.compare(n.name.size() - 6, 6, "a_relu") == 0) expected[q(n.name)] = 4;
      if (n.name.size() > 6 && n.name.compare(n.name.size() - 6, 6, "b_relu") == 0) expected[q(n.name)] = 4;
      if (n.op == graph::Op::kRelu && n.name.size() > 5 && n.name.compare(n.name.size() - 5, 5, ".relu") == 0 &&
          n.name != "stem.relu") {
        expected[q(n.name)] = 4;
        last_block = n.name;
      }
    }
    expected.erase(q(last_block));  // feeds the head's pooling
    EXPECT_EQ(p, expected) << m;
  }
}

TEST(Placement, AcademicMobileNetV2) {
  const auto p = placement("mobilenetv2_1.0", "academic");
  const auto g = models::build_model("mobilenetv2_1.0");
  std::map<std::string, int> expected = {{q("x"), 8}, {q("classifier.0"), 8}};
  for (const auto& n : g.nodes) {
    if (n.op == graph::Op::kRelu6 && n.name != "features.18.2") expected[q(n.name)] = 4;  // every ReLU6 feeding a conv
  }
  // Every block output: the add of residual blocks, else the block's last BatchNorm.
  for (int i = 1; i <= 17; ++i) {
    const std::string add = "features." + std::to_string(i) + ".add";
    const std::string bn = "features." + std::to_string(i) + (i == 1 ? ".conv.4" : ".conv.7");
    expected[q(g.find(add) >= 0 ? add : bn)] = 4;
  }
  EXPECT_EQ(p, expected);
}

TEST(Placement, TensorRTResNet18QuantizesPoolingAndBothAddOperands) {
  std::map<std::string, int> expected = {{q("x"), 8}, {q("relu"), 8}, {q("maxpool"), 8}, {q("reshape"), 8}};
  for (int stage = 1; stage <= 4; ++stage) {
    for (int blk = 0; blk < 2; ++blk) {
      const std::string p = "layer" + std::to_string(stage) + "." + std::to_string(blk);
      expected[q(p + ".relu1")] = 8;
      expected[q(p + ".conv2")] = 8;  // BN folded into conv2, which feeds the add
      expected[q(p + ".relu2")] = 8;  // the last one feeds avgpool, also quantized here
      if (stage > 1 && blk == 0) expected[q(p + ".downsample.0")] = 8;
    }
  }
  EXPECT_EQ(placement("resnet18", "tensorrt", 8, 8), expected);
}

TEST(Placement, TensorRTSchemesAndFolding) {
  CalibrationConfig c;
  auto qm = prepare(models::build_model("resnet18"), tensorrt_backend(), c);
  EXPECT_EQ(qm.graph.find("bn1"), -1);
  for (const auto& w : qm.weights) {
    EXPECT_TRUE(w.quantizer.scheme().symmetric);
    EXPECT_EQ(w.quantizer.scheme().range(), (QRange{-127, 127}));
  }
  EXPECT_EQ(qm.activations.front().scheme().range(), (QRange{-127, 127}));
  c.symmetric_range = false;  // the published table's range
  auto published = prepare(models::build_model("resnet18"), tensorrt_backend(), c);
  EXPECT_EQ(published.activations.front().scheme().range(), (QRange{-128, 127}));
  EXPECT_EQ(published.weights.front().quantizer.scheme().range(), (QRange{-128, 127}));
}

TEST(Placement, TensorRTOtherArchitecturesQuantizeEveryAddOperand) {
  for (const char* m : {"resnet50", "mobilenetv2_1.0", "regnetx600m", "regnetx800m"}) {
    auto qm = prepare(models::build_model(m), tensorrt_backend(), {});
    for (const auto& n : qm.graph.nodes) {
      if (n.op != graph::Op::kAdd && n.op != graph::Op::kConv2d && n.op != graph::Op::kLinear) continue;
      for (int in : n.inputs) EXPECT_EQ(qm.graph.node(in).op, graph::Op::kFakeQuant) << m << " " << n.name;
    }
  }
}

TEST(Placement, UnknownBackendIsRejected) {
  EXPECT_THROW(backend("tensorrt2"), QuantError);
  EXPECT_EQ(backend("TensorRT").name, "tensorrt");
}

}  // namespace
}  // namespace qsweep::quant
