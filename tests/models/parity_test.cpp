// FP32 logits of qsweep's graphs against PyTorch's own models on identical random weights
// (torchvision's resnet18/50, mobilenet_v2, regnet_x_800mf; BRECQ's MobileNetV2 and pycls's
// RegNetX-600MF layouts from tools/reference_models.py), and the save → torch.load round trip.
// The Python side runs at test time with Debian's /usr/bin/python3; skipped where it has no torch.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "graph/executor.h"
#include "models/checkpoint/checkpoint.h"
#include "models/weights.h"
#include "models/zoo.h"

namespace qsweep::models {
namespace {

const std::string kTool = std::string(QSWEEP_SOURCE_DIR) + "/tools/reference_models.py";

bool have_torchvision() {
  static const bool ok = std::system("/usr/bin/python3 -c 'import torch, torchvision' >/dev/null 2>&1") == 0;
  return ok;
}

at::Tensor take(StateDict& sd, const std::string& key) {
  for (auto it = sd.begin(); it != sd.end(); ++it) {
    if (it->first == key) {
      auto t = it->second;
      sd.erase(it);
      return t;
    }
  }
  throw std::runtime_error("no " + key);
}

double rel_err(const at::Tensor& a, const at::Tensor& b) { return ((a - b).abs().max() / b.abs().max()).item<double>(); }

struct Case {
  const char* python_arch;
  const char* zoo_name;
};

class Parity : public ::testing::TestWithParam<Case> {};

TEST_P(Parity, LogitsMatchPyTorchWithinOneInAHundredThousand) {
  if (!have_torchvision()) GTEST_SKIP() << "/usr/bin/python3 cannot import torch/torchvision";
  const auto& c = GetParam();
  const std::string out = ::testing::TempDir() + "ref_" + c.python_arch + ".pt";
  ASSERT_EQ(std::system(("/usr/bin/python3 " + kTool + " forward " + c.python_arch + " 7 " + out).c_str()), 0);
  auto sd = read_state_dict(out);
  const auto x = take(sd, "__input__");
  const auto expected = take(sd, "__logits__");
  auto g = build_model(c.zoo_name);
  load_weights(g, sd, out);
  at::NoGradGuard no_grad;
  const auto y = graph::run(g, x);
  EXPECT_LE(rel_err(y, expected), 1e-5) << c.python_arch;
  std::remove(out.c_str());
}

INSTANTIATE_TEST_SUITE_P(Models, Parity,
                         ::testing::Values(Case{"resnet18", "resnet18"}, Case{"resnet50", "resnet50"},
                                           Case{"mobilenet_v2", "mobilenetv2_1.0"},
                                           Case{"regnet_x_800mf", "regnetx800m"},
                                           Case{"brecq_mobilenetv2", "mobilenetv2_1.0"},
                                           Case{"pycls_regnetx600m", "regnetx600m"}),
                         [](const auto& info) { return std::string(info.param.python_arch); });

TEST(Weights, SavedWeightsLoadIntoTorchvisionWithTheSameLogits) {
  if (!have_torchvision()) GTEST_SKIP() << "/usr/bin/python3 cannot import torch/torchvision";
  at::manual_seed(3);
  auto g = build_model("resnet18");
  const auto x = at::randn({2, 3, 224, 224});
  const std::string dir = ::testing::TempDir();
  write_state_dict(dir + "rt_weights.pt", state_dict_of(g));
  write_state_dict(dir + "rt_input.pt", {{"__input__", x}});
  const std::string cmd = "/usr/bin/python3 " + kTool + " roundtrip resnet18 " + dir + "rt_weights.pt " + dir +
                          "rt_input.pt " + dir + "rt_out.pt";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto out = read_state_dict(dir + "rt_out.pt");
  at::NoGradGuard no_grad;
  EXPECT_LE(rel_err(graph::run(g, x), take(out, "__logits__")), 1e-5);
}

TEST(Weights, MismatchesAreReportedTogetherByName) {
  auto g = build_model("resnet18");
  auto sd = state_dict_of(build_model("resnet18"));
  sd.erase(sd.begin());                                           // conv1.weight missing
  sd.emplace_back("layer5.0.conv1.weight", at::zeros({1}));       // unexpected
  sd[0].second = at::zeros({3});                                  // bn1.weight mis-shaped
  try {
    load_weights(g, sd, "bad.pth");
    FAIL();
  } catch (const CheckpointError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("bad.pth"), std::string::npos) << m;
    EXPECT_NE(m.find("missing (1): conv1.weight"), std::string::npos) << m;
    EXPECT_NE(m.find("unexpected (1): layer5.0.conv1.weight"), std::string::npos) << m;
    EXPECT_NE(m.find("shape mismatch (1): bn1.weight"), std::string::npos) << m;
  }
  // Wrong architecture: resnet50 weights into resnet18.
  EXPECT_THROW(load_weights(g, state_dict_of(build_model("resnet50")), "r50.pth"), CheckpointError);
}

TEST(Weights, TorchvisionNamesMapOntoBrecqAndPycls) {
  EXPECT_EQ(canonical_name("features.1.conv.0.0.weight", "mobilenetv2", true), "features.1.conv.0.weight");
  EXPECT_EQ(canonical_name("features.1.conv.1.weight", "mobilenetv2", true), "features.1.conv.3.weight");
  EXPECT_EQ(canonical_name("features.5.conv.1.1.running_var", "mobilenetv2", true), "features.5.conv.4.running_var");
  EXPECT_EQ(canonical_name("features.5.conv.3.bias", "mobilenetv2", true), "features.5.conv.7.bias");
  EXPECT_EQ(canonical_name("stem.1.weight", "regnetx", true), "stem.bn.weight");
  EXPECT_EQ(canonical_name("trunk_output.block2.block2-0.proj.1.weight", "regnetx", true), "s2.b1.bn.weight");
  EXPECT_EQ(canonical_name("trunk_output.block4.block4-4.f.b.0.weight", "regnetx", true), "s4.b5.f.b.weight");
  EXPECT_EQ(canonical_name("fc.bias", "regnetx", true), "head.fc.bias");
}

}  // namespace
}  // namespace qsweep::models
