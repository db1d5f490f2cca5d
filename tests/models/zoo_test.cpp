// Builders: parameter counts of the full-size models, RegNet stage generation, options, BN folding.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "graph/executor.h"
#include "graph/passes.h"
#include "models/zoo.h"

namespace qsweep::models {
namespace {

TEST(Zoo, ParameterCountsMatchTorchvisionAndPycls) {
  // torchvision 0.14: resnet18, resnet50, mobilenet_v2, regnet_x_800mf; pycls RegNetX-600MF.
  EXPECT_EQ(build_model("resnet18").params.parameter_count(), 11689512);
  EXPECT_EQ(build_model("resnet50").params.parameter_count(), 25557032);
  EXPECT_EQ(build_model("mobilenetv2_1.0").params.parameter_count(), 3504872);
  EXPECT_EQ(build_model("regnetx800m").params.parameter_count(), 7259656);
  EXPECT_EQ(build_model("regnetx600m").params.parameter_count(), 6196040);
}

TEST(Zoo, RegNetStagesFromSpec) {
  const auto s600 = regnet_stages({36.97, 48, 2.24, 16, 24});
  EXPECT_EQ(s600.widths, (std::vector<int64_t>{48, 96, 240, 528}));
  EXPECT_EQ(s600.depths, (std::vector<int64_t>{1, 3, 5, 7}));
  const auto s800 = regnet_stages({35.73, 56, 2.28, 16, 16});
  EXPECT_EQ(s800.widths, (std::vector<int64_t>{64, 128, 288, 672}));
  EXPECT_EQ(s800.depths, (std::vector<int64_t>{1, 3, 7, 5}));
}

TEST(Zoo, AliasesAndUnknownNames) {
  EXPECT_EQ(model_info("mobilenet_v2").name, "mobilenetv2_1.0");
  EXPECT_EQ(model_info("regnet_x_800mf").name, "regnetx800m");
  try {
    model_info("resnet19");
    FAIL();
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'resnet18'"), std::string::npos) << e.what();
  }
  ModelOptions bad;
  bad.num_classes = 0;
  EXPECT_THROW(build_model("resnet18", bad), ModelError);
}

TEST(Zoo, SmallInputOptionsGiveDemoSizedModels) {
  ModelOptions o;
  o.num_classes = 10;
  o.in_channels = 1;
  o.width = 0.25;
  o.small_input = true;
  for (const auto& m : model_registry()) {
    auto g = build_model(m.name, o);
    const auto y = graph::run(g, at::randn({2, 1, 32, 32}));
    EXPECT_EQ(y.sizes(), (at::IntArrayRef{2, 10})) << m.name;
    EXPECT_EQ(g.find("maxpool"), -1) << m.name;
  }
}

TEST(Zoo, FoldingBatchNormKeepsEvalLogits) {
  at::manual_seed(3);
  ModelOptions o;
  o.num_classes = 10;
  o.width = 0.25;
  o.small_input = true;
  for (const auto& m : model_registry()) {
    auto g = build_model(m.name, o);
    for (const auto& n : g.nodes) {
      if (n.op != graph::Op::kBatchNorm2d) continue;
      const auto c = g.param(n, "weight").size(0);
      g.params.set(n.name + ".weight", at::rand({c}) + 0.5);
      g.params.set(n.name + ".running_mean", at::randn({c}) * 0.1);
      g.params.set(n.name + ".running_var", at::rand({c}) + 0.5);
    }
    const auto x = at::randn({2, 3, 32, 32});
    const auto before = graph::run(g, x);
    graph::PassContext ctx;
    graph::run_pass("fold-bn", g, ctx);
    const auto after = graph::run(g, x);
    EXPECT_LE(((after - before).abs().max() / before.abs().max()).item<float>(), 1e-5) << m.name;
  }
}

}  // namespace
}  // namespace qsweep::models
