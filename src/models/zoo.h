// The model zoo: architecture name → graph builder + defaults. Builders emit graph::Graph with the
// parameter names of the checkpoints users have (BRECQ/MQBench names for ResNet and MobileNetV2,
// pycls names for RegNetX; checkpoint.h maps torchvision's names onto them).
//
//   models::ModelOptions opt;                 // ImageNet defaults: 1000 classes, RGB, width 1
//   graph::Graph g = models::build_model("resnet18", opt);
//   opt = {.num_classes = 10, .in_channels = 1, .width = 0.25, .small_input = true};  // demo zoo
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "support/error.h"

namespace qsweep::models {

class ModelError : public Error {
 public:
  using Error::Error;
};

struct ModelOptions {
  int64_t num_classes = 1000;
  int64_t in_channels = 3;
  double width = 1.0;        // channel multiplier
  bool small_input = false;  // 3×3 stride-1 stem and no stem max-pool, for 28–32 px images

  // The demo zoo's shape: 1 channel, 10 classes, small-input stem, the given width (Fashion-MNIST).
  static ModelOptions fashion_mnist(double width) { return {10, 1, width, true}; }
};

struct ModelInfo {
  std::string name;                  // registry key: "mobilenetv2_1.0"
  std::vector<std::string> aliases;  // also accepted: "mobilenet_v2"
  std::string family;                // resnet | mobilenetv2 | regnetx
  std::string summary;
  std::function<graph::Graph(const ModelOptions&)> build;
  // Architecture facts the layers below the sweep need (kept here, not where they are used):
  double round_weight = 0.01;  // AdaRound's λ by default (SPEC §5.4: 0.1 for MobileNetV2, 0.01 otherwise)
};

const std::vector<ModelInfo>& model_registry();
// Unknown names throw ModelError listing the known ones (and the closest).
const ModelInfo& model_info(const std::string& name);
// The entry for a name or alias; null when none (graphs of tests and user models).
const ModelInfo* find_model(const std::string& name);
graph::Graph build_model(const std::string& name, const ModelOptions& options = {});

// Architecture builders (one file each).
graph::Graph build_resnet(const std::string& name, const std::vector<int>& layers, bool bottleneck,
                          const ModelOptions& o);
graph::Graph build_mobilenetv2(const std::string& name, const ModelOptions& o);

// pycls RegNetX generator parameters (SPEC §7).
struct RegNetParams {
  double wa, w0, wm;
  int depth, group_width;
};
struct RegNetStages {
  std::vector<int64_t> widths, depths, group_widths;
};
RegNetStages regnet_stages(const RegNetParams& p, double width_multiplier = 1.0);
graph::Graph build_regnetx(const std::string& name, const RegNetParams& p, const ModelOptions& o);

}  // namespace qsweep::models
