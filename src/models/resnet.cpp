// ResNet-18/50 as BRECQ/MQBench define them (SPEC §7): torchvision-compatible parameter names,
// separate relu1/relu2(/relu3) nodes per block, stride on the 3×3 conv of the bottleneck (v1.5).
#include <fmt/format.h>

#include <cmath>

#include "models/zoo.h"

namespace qsweep::models {
namespace {

int64_t scaled(int64_t c, double width) { return std::max<int64_t>(1, static_cast<int64_t>(std::lround(c * width))); }

struct Stage {
  graph::Builder& b;
  int basic_block(const std::string& p, int x, int64_t in, int64_t planes, int64_t stride) {
    int y = b.relu(p + ".relu1", b.batch_norm(p + ".bn1", b.conv2d(p + ".conv1", x, in, planes, 3, stride, 1), planes));
    y = b.batch_norm(p + ".bn2", b.conv2d(p + ".conv2", y, planes, planes, 3, 1, 1), planes);
    int identity = x;
    if (stride != 1 || in != planes) {
      identity = b.batch_norm(p + ".downsample.1", b.conv2d(p + ".downsample.0", x, in, planes, 1, stride), planes);
    }
    return b.relu(p + ".relu2", b.add(p + ".add", y, identity));
  }
  int bottleneck(const std::string& p, int x, int64_t in, int64_t planes, int64_t stride) {
    const int64_t out = planes * 4;
    int y = b.relu(p + ".relu1", b.batch_norm(p + ".bn1", b.conv2d(p + ".conv1", x, in, planes, 1), planes));
    y = b.relu(p + ".relu2", b.batch_norm(p + ".bn2", b.conv2d(p + ".conv2", y, planes, planes, 3, stride, 1), planes));
    y = b.batch_norm(p + ".bn3", b.conv2d(p + ".conv3", y, planes, out, 1), out);
    int identity = x;
    if (stride != 1 || in != out) {
      identity = b.batch_norm(p + ".downsample.1", b.conv2d(p + ".downsample.0", x, in, out, 1, stride), out);
    }
    return b.relu(p + ".relu3", b.add(p + ".add", y, identity));
  }
};

}  // namespace

graph::Graph build_resnet(const std::string& name, const std::vector<int>& layers, bool bottleneck,
                          const ModelOptions& o) {
  graph::Builder b(name);
  const int64_t stem = scaled(64, o.width);
  int x = b.input("x");
  if (o.small_input) {
    x = b.conv2d("conv1", x, o.in_channels, stem, 3, 1, 1);
    x = b.relu("relu", b.batch_norm("bn1", x, stem));
  } else {
    x = b.conv2d("conv1", x, o.in_channels, stem, 7, 2, 3);
    x = b.max_pool2d("maxpool", b.relu("relu", b.batch_norm("bn1", x, stem)), 3, 2, 1);
  }
  Stage s{b};
  int64_t in = stem;
  for (size_t stage = 0; stage < layers.size(); ++stage) {
    const int64_t planes = scaled(64 << stage, o.width);
    for (int blk = 0; blk < layers[stage]; ++blk) {
      const std::string p = fmt::format("layer{}.{}", stage + 1, blk);
      const int64_t stride = (stage > 0 && blk == 0) ? 2 : 1;
      x = bottleneck ? s.bottleneck(p, x, in, planes, stride) : s.basic_block(p, x, in, planes, stride);
      in = bottleneck ? planes * 4 : planes;
    }
  }
  x = b.flatten("reshape", b.adaptive_avg_pool2d("avgpool", x));
  b.output(b.linear("fc", x, in, o.num_classes));
  return b.finish();
}

}  // namespace qsweep::models
