// RegNetX as pycls's AnyNet builds it (SPEC §7): stem conv 3×3/2 → 32, four stages of
// ResBottleneck blocks (bottleneck ratio 1, grouped 3×3, projection when shape changes), head
// average pool + fc. Stage widths/depths come from pycls's quantised linear rule.
#include <fmt/format.h>

#include <cmath>
#include <map>

#include "models/zoo.h"

namespace qsweep::models {

RegNetStages regnet_stages(const RegNetParams& p, double width_multiplier) {
  // Continuous widths w_j = wa·j + w0, snapped to w0·wm^k (k rounded half-to-even as numpy),
  // then to multiples of 8; consecutive equal widths form a stage.
  std::vector<int64_t> per_block;
  for (int j = 0; j < p.depth; ++j) {
    const double cont = p.wa * j + p.w0;
    const double k = std::nearbyint(std::log(cont / p.w0) / std::log(p.wm));
    const double w = p.w0 * std::pow(p.wm, k);
    per_block.push_back(static_cast<int64_t>(std::nearbyint(w / 8.0)) * 8);
  }
  RegNetStages s;
  for (int64_t w : per_block) {
    if (s.widths.empty() || s.widths.back() != w) {
      s.widths.push_back(w);
      s.depths.push_back(0);
    }
    ++s.depths.back();
  }
  for (auto& w : s.widths) {
    // Group width never exceeds the width, and the width is a multiple of it (pycls's
    // adjust_ws_gs_comp); the multiplier scales both for the demo zoo.
    int64_t g = std::min<int64_t>(std::max<int64_t>(1, std::lround(p.group_width * width_multiplier)),
                                  std::max<int64_t>(1, std::lround(w * width_multiplier)));
    const double scaled = w * width_multiplier;
    w = std::max<int64_t>(g, static_cast<int64_t>(std::nearbyint(scaled / g)) * g);
    s.group_widths.push_back(g);
  }
  return s;
}

graph::Graph build_regnetx(const std::string& name, const RegNetParams& p, const ModelOptions& o) {
  const RegNetStages st = regnet_stages(p, o.width);
  graph::Builder b(name);
  int x = b.input("x");
  const int64_t stem = std::max<int64_t>(8, std::lround(32 * o.width));
  x = b.conv2d("stem.conv", x, o.in_channels, stem, 3, o.small_input ? 1 : 2, 1);
  x = b.relu("stem.relu", b.batch_norm("stem.bn", x, stem));
  int64_t in = stem;
  for (size_t i = 0; i < st.widths.size(); ++i) {
    const int64_t w = st.widths[i];
    for (int j = 0; j < st.depths[i]; ++j) {
      const std::string p = fmt::format("s{}.b{}.", i + 1, j + 1);
      const int64_t stride = j == 0 ? 2 : 1;
      int identity = x;
      if (in != w || stride != 1) identity = b.batch_norm(p + "bn", b.conv2d(p + "proj", x, in, w, 1, stride), w);
      int y = b.relu(p + "f.a_relu", b.batch_norm(p + "f.a_bn", b.conv2d(p + "f.a", x, in, w, 1), w));
      y = b.conv2d(p + "f.b", y, w, w, 3, stride, 1, w / st.group_widths[i]);
      y = b.relu(p + "f.b_relu", b.batch_norm(p + "f.b_bn", y, w));
      y = b.batch_norm(p + "f.c_bn", b.conv2d(p + "f.c", y, w, w, 1), w);
      x = b.relu(p + "relu", b.add(p + "add", identity, y));
      in = w;
    }
  }
  x = b.flatten("head.reshape", b.adaptive_avg_pool2d("head.avg_pool", x));
  b.output(b.linear("head.fc", x, in, o.num_classes));
  return b.finish();
}

}  // namespace qsweep::models
