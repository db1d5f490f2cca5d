// The registry of the five benchmark architectures (SPEC §7).
#include "models/zoo.h"

#include <fmt/format.h>

#include "support/strings.h"

namespace qsweep::models {

const RegNetParams kRegNetX600M{36.97, 48, 2.24, 16, 24};
const RegNetParams kRegNetX800M{35.73, 56, 2.28, 16, 16};

const std::vector<ModelInfo>& model_registry() {
  static const std::vector<ModelInfo> registry = {
      {"resnet18", {}, "resnet", "ResNet-18 (BasicBlock [2,2,2,2]), torchvision/BRECQ names",
       [](const ModelOptions& o) { return build_resnet("resnet18", {2, 2, 2, 2}, false, o); }, 0.01},
      {"resnet50", {}, "resnet", "ResNet-50 v1.5 (Bottleneck [3,4,6,3]), torchvision/BRECQ names",
       [](const ModelOptions& o) { return build_resnet("resnet50", {3, 4, 6, 3}, true, o); }, 0.01},
      {"mobilenetv2_1.0", {"mobilenet_v2", "mobilenetv2"}, "mobilenetv2",
       "MobileNetV2 1.0 (BRECQ/tonylins layout; torchvision names mapped)",
       [](const ModelOptions& o) { return build_mobilenetv2("mobilenetv2_1.0", o); }, 0.1},
      {"regnetx600m", {"regnetx_600m"}, "regnetx", "RegNetX-600MF (pycls: widths 48/96/240/528, depths 1/3/5/7, gw 24)",
       [](const ModelOptions& o) { return build_regnetx("regnetx600m", kRegNetX600M, o); }, 0.01},
      {"regnetx800m", {"regnetx_800m", "regnet_x_800mf"}, "regnetx",
       "RegNetX-800MF (pycls: widths 64/128/288/672, depths 1/3/7/5, gw 16; torchvision regnet_x_800mf names mapped)",
       [](const ModelOptions& o) { return build_regnetx("regnetx800m", kRegNetX800M, o); }, 0.01},
  };
  return registry;
}

const ModelInfo* find_model(const std::string& name) {
  for (const auto& m : model_registry()) {
    if (m.name == name) return &m;
    for (const auto& a : m.aliases) {
      if (a == name) return &m;
    }
  }
  return nullptr;
}

const ModelInfo& model_info(const std::string& name) {
  if (const auto* m = find_model(name)) return *m;
  std::vector<std::string> known;
  for (const auto& m : model_registry()) known.push_back(m.name);
  throw ModelError(unknown_name_message("model", name, known));
}

graph::Graph build_model(const std::string& name, const ModelOptions& o) {
  if (o.num_classes < 1 || o.in_channels < 1 || !(o.width > 0)) {
    throw ModelError(fmt::format("model '{}': num_classes {}, in_channels {}, width {} — all must be positive", name,
                                 o.num_classes, o.in_channels, o.width));
  }
  return model_info(name).build(o);
}

}  // namespace qsweep::models
