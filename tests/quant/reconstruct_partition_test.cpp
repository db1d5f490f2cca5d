// SPEC §5.1: the layer and block units of MQBench's advanced_ptq.py, checked against the ResNet-18
// lists verified from the logged runs, and structural facts for the other architectures.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "models/zoo.h"
#include "quant/quantized_model.h"
#include "quant/reconstruct/partition.h"

namespace qsweep::quant::reconstruct {
namespace {

using Names = std::vector<std::string>;

std::string q(const std::string& producer) { return activation_quantizer_name(producer); }

struct Prepared {
  QuantizedModel qm;
  std::vector<Unit> units;
};

Prepared prepared(const std::string& model, Pattern p) {
  CalibrationConfig c;
  c.wbit = 2;
  c.abit = 4;
  Prepared out{prepare(models::build_model(model), academic_backend(), c), {}};
  out.units = partition(out.qm.graph, p);
  return out;
}

std::vector<Names> bodies(const Prepared& p) {
  std::vector<Names> out;
  for (const auto& u : p.units) out.push_back(unit_node_names(p.qm.graph, u));
  return out;
}

const Names kStem = {"conv1", "bn1", "relu", "maxpool", q("maxpool")};

TEST(Partition, ResNet18LayerUnitsAreTheLoggedOnes) {
  std::vector<Names> expected = {kStem};
  for (int stage = 1; stage <= 4; ++stage) {
    for (int blk = 0; blk < 2; ++blk) {
      const std::string p = "layer" + std::to_string(stage) + "." + std::to_string(blk);
      expected.push_back({p + ".conv1", p + ".bn1", p + ".relu1", q(p + ".relu1")});
      expected.push_back({p + ".conv2", p + ".bn2"});  // stops at the residual add, unquantized
      if (stage > 1 && blk == 0) expected.push_back({p + ".downsample.0", p + ".downsample.1"});
    }
  }
  expected.push_back({"fc"});
  const auto p = prepared("resnet18", Pattern::kLayer);
  EXPECT_EQ(bodies(p), expected);
  // Each unit reads the preceding quantizer; the downsample reads the block input.
  const auto& g = p.qm.graph;
  EXPECT_EQ(g.node(p.units[0].inputs.at(0)).name, q("x"));
  EXPECT_EQ(g.node(p.units[7].inputs.at(0)).name, q("layer1.1.relu2"));
  EXPECT_EQ(g.node(p.units.back().inputs.at(0)).name, q("reshape"));
}

TEST(Partition, ResNet18BlockUnitsAreTheLoggedOnes) {
  std::vector<Names> expected = {kStem};
  for (int stage = 1; stage <= 4; ++stage) {
    for (int blk = 0; blk < 2; ++blk) {
      const std::string p = "layer" + std::to_string(stage) + "." + std::to_string(blk);
      Names u = {p + ".conv1", p + ".bn1", p + ".relu1", q(p + ".relu1"), p + ".conv2", p + ".bn2"};
      if (stage > 1 && blk == 0) u.insert(u.end(), {p + ".downsample.0", p + ".downsample.1"});
      u.insert(u.end(), {p + ".add", p + ".relu2"});
      if (stage == 4 && blk == 1) {
        u.insert(u.end(), {"avgpool", "reshape", q("reshape")});  // the last block runs to the fc input
      } else {
        u.push_back(q(p + ".relu2"));
      }
      expected.push_back(u);
    }
  }
  expected.push_back({"fc"});
  const auto p = prepared("resnet18", Pattern::kBlock);
  EXPECT_EQ(bodies(p), expected);
  for (const auto& u : p.units) EXPECT_EQ(u.inputs.size(), 1u);
}

TEST(Partition, MobileNetV2BlocksFollowTheAlgorithm) {
  const auto p = prepared("mobilenetv2_1.0", Pattern::kBlock);
  const auto b = bodies(p);
  ASSERT_EQ(b.size(), 18u);
  EXPECT_EQ(p.units[0].layers.size(), 3u);  // features.0 + features.1
  EXPECT_EQ(b[0].front(), "features.0.0");
  EXPECT_EQ(b[0].back(), q("features.1.conv.4"));
  EXPECT_EQ(b[2].back(), q("features.3.add"));  // a residual block ends at add + quantizer
  EXPECT_EQ(b[16].front(), "features.17.conv.0");  // features.17 alone
  EXPECT_EQ(b[17], (Names{"features.18.0", "features.18.1", "features.18.2", "mean", "classifier.0",
                          q("classifier.0"), "classifier.1"}));
}

TEST(Partition, RegNetXStemAloneThenOneUnitPerBlock) {
  for (const char* m : {"regnetx600m", "regnetx800m"}) {
    const auto p = prepared(m, Pattern::kBlock);
    const auto b = bodies(p);
    EXPECT_EQ(b.front(), (Names{"stem.conv", "stem.bn", "stem.relu", q("stem.relu")})) << m;
    EXPECT_EQ(b.back(), Names{"head.fc"}) << m;
    EXPECT_EQ(b[b.size() - 2].back(), q("head.reshape")) << m;
  }
}

TEST(Partition, EveryLayerIsReconstructedExactlyOnce) {
  for (const auto& m : {"resnet18", "resnet50", "mobilenetv2_1.0", "regnetx600m", "regnetx800m"}) {
    for (Pattern pat : {Pattern::kLayer, Pattern::kBlock}) {
      const auto p = prepared(m, pat);
      std::multiset<int> seen;
      for (const auto& u : p.units) seen.insert(u.layers.begin(), u.layers.end());
      EXPECT_EQ(seen.size(), p.qm.weights.size()) << m << " " << pattern_name(pat);
      for (int id : seen) EXPECT_EQ(seen.count(id), 1u) << p.qm.graph.node(id).name;
      for (const auto& u : p.units) {
        for (size_t i = 1; i < u.body.size(); ++i) EXPECT_LT(u.body[i - 1], u.body[i]);
      }
    }
  }
}

TEST(Partition, PatternNames) {
  EXPECT_EQ(pattern_from_name("layer"), Pattern::kLayer);
  EXPECT_EQ(pattern_from_name("block"), Pattern::kBlock);
  EXPECT_THROW(pattern_from_name("blocks"), QuantError);
}

}  // namespace
}  // namespace qsweep::quant::reconstruct
