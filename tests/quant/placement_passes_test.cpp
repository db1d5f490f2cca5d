// Placement as passes (quant/placement.h): each pass alone, the backends' pass lists, and the
// per-layer rules of the layer-overrides pass.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "graph/executor.h"
#include "models/zoo.h"
#include "quant/placement.h"
#include "quant/quantized_model.h"

namespace qsweep::quant {
namespace {

// Every quantizer by name with its bits, symmetry and granularity.
std::map<std::string, std::string> quantizers(const QuantizedModel& qm) {
  std::map<std::string, std::string> out;
  for (const auto& a : qm.activations) out[a.name()] = a.spec().observer + " " + a.scheme().str();
  for (const auto& w : qm.weights) out[w.quantizer.name()] = w.quantizer.spec().observer + " " + w.quantizer.scheme().str();
  return out;
}

QuantizedModel run_passes(const graph::Graph& g, const BackendPolicy& policy, const CalibrationConfig& c,
                          const std::vector<std::string>& passes) {
  Placement p(g, policy, c);
  for (const auto& name : passes) run_placement_pass(name, p);
  return std::move(p.model);
}

LayerRule rule(const std::string& pattern) {
  LayerRule r;
  r.pattern = pattern;
  r.origin = "t.yaml:3:5";
  return r;
}

TEST(PlacementPasses, BackendsAreTheirPassLists) {
  EXPECT_EQ(academic_backend().passes,
            (std::vector<std::string>{"assign-defaults", "first-last-8bit", "layer-overrides", "insert-quantizers"}));
  EXPECT_EQ(tensorrt_backend().passes,
            (std::vector<std::string>{"fold-bn", "assign-defaults", "layer-overrides", "insert-quantizers"}));
  for (const auto* b : {&academic_backend(), &tensorrt_backend()}) {
    for (const auto& pass : b->passes) {
      const auto all = placement_pass_names();
      EXPECT_NE(std::find(all.begin(), all.end(), pass), all.end()) << pass;
    }
  }
  Placement p(models::build_model("resnet18"), academic_backend(), {});
  EXPECT_THROW(run_placement_pass("insert-quantizer", p), QuantError);
  EXPECT_THROW(run_placement_pass("first-last-8bit", p), QuantError);  // before assign-defaults
}

TEST(PlacementPasses, WithoutFirstLast8BitAcademicQuantizesTheEdgesAtTaskBits) {
  CalibrationConfig c;
  c.wbit = 2, c.abit = 4;
  const auto g = models::build_model("resnet18");
  const auto without = run_passes(g, academic_backend(), c, {"assign-defaults", "insert-quantizers"});
  for (const auto& w : without.weights) EXPECT_EQ(w.quantizer.scheme().bits, 2) << w.node;
  const auto with = run_passes(g, academic_backend(), c, {"assign-defaults", "first-last-8bit", "insert-quantizers"});
  EXPECT_EQ(quantizers(with), quantizers(prepare(g, academic_backend(), c)));
  EXPECT_EQ(with.weight_of("conv1")->quantizer.scheme().bits, 8);
  EXPECT_EQ(with.weight_of("fc")->quantizer.scheme().bits, 8);
}

TEST(PlacementPasses, FoldBnAloneRemovesTheBatchNorms) {
  const auto g = models::build_model("resnet18");
  Placement p(g, tensorrt_backend(), {});
  std::ostringstream log;
  p.log = &log;
  run_placement_pass("fold-bn", p);
  EXPECT_LT(p.model.graph.find("layer1.0.bn1"), 0);
  EXPECT_NE(log.str().find("fold-bn:"), std::string::npos);
}

// The first and last layers at 8 bits, stated as rules on TensorRT, place what Academic's
// first-last-8bit pass places on the same nodes.
TEST(LayerOverrides, FirstAndLastRulesSetEdgeBits) {
  CalibrationConfig c;
  c.wbit = 4, c.abit = 4;
  auto first = rule("@first"), last = rule("@last");
  first.wbit = last.wbit = 8;
  first.abit = last.abit = 8;
  CalibrationConfig with = c;
  with.layers = {first, last};
  const auto g = models::build_model("resnet18");
  const auto plain = prepare(g, tensorrt_backend(), c);
  const auto edged = prepare(g, tensorrt_backend(), with);
  EXPECT_EQ(edged.weight_of("conv1")->quantizer.scheme().bits, 8);
  EXPECT_EQ(edged.weight_of("fc")->quantizer.scheme().bits, 8);
  EXPECT_EQ(edged.weight_of("layer1.0.conv1")->quantizer.scheme().bits, 4);
  auto bits_of = [](const QuantizedModel& qm, const std::string& name) {
    for (const auto& a : qm.activations) {
      if (a.name() == name) return a.scheme().bits;
    }
    return -1;
  };
  EXPECT_EQ(bits_of(plain, activation_quantizer_name("x")), 4);
  EXPECT_EQ(bits_of(edged, activation_quantizer_name("x")), 8);
  EXPECT_EQ(plain.activations.size(), edged.activations.size());
  EXPECT_EQ(plain.weights.size(), edged.weights.size());
}

// A rule that sets every layer to W8A8 gives exactly the W8A8 model: same quantizers, and the
// same outputs once calibrated on the same batch.
TEST(LayerOverrides, EverythingAtEightBitsIsTheW8A8Model) {
  at::manual_seed(3);
  const auto g = models::build_model("resnet18", models::ModelOptions::fashion_mnist(0.125));
  CalibrationConfig w8a8;
  CalibrationConfig w4a4;
  w4a4.wbit = 4, w4a4.abit = 4;
  auto all = rule("*");
  all.wbit = 8, all.abit = 8;
  w4a4.layers = {all};
  auto a = prepare(g, academic_backend(), w8a8);
  auto b = prepare(g, academic_backend(), w4a4);
  ASSERT_EQ(quantizers(a), quantizers(b));
  const auto x = at::randn({4, 1, 28, 28});
  for (auto* qm : {&a, &b}) {
    qm->set_mode(Mode::kCalibrateActivations);
    graph::run(qm->graph, x, qm->exec_options());
    qm->calibrate_weights();
    qm->set_mode(Mode::kQuantize);
  }
  EXPECT_TRUE(at::equal(graph::run(a.graph, x, a.exec_options()), graph::run(b.graph, x, b.exec_options())));
}

TEST(LayerOverrides, KeepFloatDropsTheLayersQuantizers) {
  auto f = rule("layer4.*");
  f.keep_float = true;
  CalibrationConfig c;
  c.layers = {f};
  const auto g = models::build_model("resnet18");
  const auto plain = prepare(g, academic_backend(), {});
  const auto kept = prepare(g, academic_backend(), c);
  EXPECT_EQ(kept.weight_of("layer4.0.conv1"), nullptr);
  EXPECT_EQ(kept.weight_of("layer4.1.conv2"), nullptr);
  EXPECT_NE(kept.weight_of("layer3.1.conv2"), nullptr);
  EXPECT_EQ(plain.weights.size() - kept.weights.size(), 5u);  // 4 convs + the downsample conv
  // layer4.0.conv1 reads layer3's output unquantized.
  const auto& kg = kept.graph;
  EXPECT_EQ(kg.node(kg.node(kg.find("layer4.0.conv1")).inputs[0]).name, "layer3.1.relu2");
}

TEST(LayerOverrides, RegexAndObserverAndScheme) {
  auto r = rule("^layer[12]\\.0\\.conv1$");
  r.regex = true;
  r.w_observer = "mse";
  r.w_per_channel = false;
  r.wbit = 6;
  CalibrationConfig c;
  c.wbit = 4;
  c.layers = {r};
  const auto qm = prepare(models::build_model("resnet18"), academic_backend(), c);
  for (const char* name : {"layer1.0.conv1", "layer2.0.conv1"}) {
    const auto& q = qm.weight_of(name)->quantizer;
    EXPECT_EQ(q.spec().observer, "mse") << name;
    EXPECT_EQ(q.scheme().bits, 6);
    EXPECT_FALSE(q.scheme().per_channel);
  }
  EXPECT_EQ(qm.weight_of("layer1.1.conv1")->quantizer.scheme().bits, 4);
  EXPECT_EQ(qm.weight_of("layer1.1.conv1")->quantizer.spec().observer, "minmax");
}

TEST(LayerOverrides, ARuleThatMatchesNothingNamesItsPlace) {
  auto r = rule("layer9.*");
  r.wbit = 8;
  CalibrationConfig c;
  c.layers = {r};
  try {
    prepare(models::build_model("resnet18"), academic_backend(), c);
    FAIL() << "no error";
  } catch (const QuantError& e) {
    EXPECT_NE(std::string(e.what()).find("t.yaml:3:5: layers rule 'layer9.*: w8' matches no node of resnet18"),
              std::string::npos)
        << e.what();
  }
}

TEST(LayerOverrides, ReadersThatDisagreeOnOneQuantizerAreRefused) {
  // TensorRT quantizes both add operands: layer1.0.add reads maxpool, as does layer1.0.conv1.
  auto r = rule("layer1.0.conv1");
  r.a_observer = "mse";
  CalibrationConfig c;
  c.layers = {r};
  try {
    prepare(models::build_model("resnet18"), tensorrt_backend(), c);
    FAIL() << "no error";
  } catch (const QuantError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'maxpool' is read by layer1.0.conv1 (mse"), std::string::npos) << what;
    EXPECT_NE(what.find("from the rule at t.yaml:3:5"), std::string::npos) << what;
    EXPECT_NE(what.find("layer1.0.add (ema_minmax"), std::string::npos) << what;
  }
}

TEST(PlacementPasses, FoldBnAfterTheRecordsIsRefused) {
  Placement p(models::build_model("resnet18"), tensorrt_backend(), CalibrationConfig{});
  run_placement_pass("assign-defaults", p);
  EXPECT_THROW(run_placement_pass("fold-bn", p), QuantError);
}

TEST(LayerRule, JsonRoundTripAndLabel) {
  auto r = rule("layer1.*");
  r.wbit = 3, r.a_observer = "ema_mse", r.w_symmetric = true;
  const auto back = LayerRule::from_json(r.to_json());
  EXPECT_EQ(back.to_json(), r.to_json());
  EXPECT_EQ(back.label(), "layer1.*: w3 a_observer=ema_mse w_symmetric=true");
  EXPECT_EQ(rules_from_json(rules_to_json({r, rule("fc")})).size(), 2u);
  EXPECT_EQ(rules_label({}), "");
  auto bad = rule("(");
  bad.regex = true;
  EXPECT_THROW(validate_pattern(bad), QuantError);
  EXPECT_THROW(validate_pattern(rule("@middle")), QuantError);
}

}  // namespace
}  // namespace qsweep::quant
