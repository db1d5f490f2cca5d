// MobileNetV2 as BRECQ/MQBench define it (SPEC §7, the tonylins layout): features.0 stem,
// inverted residual blocks features.1–17 with conv.0..7 (conv.0..4 when t = 1), features.18 1×1
// conv to 1280, x.mean([2, 3]), classifier = Dropout(0.0) + Linear. torchvision's mobilenet_v2 is
// the same network under other names (checkpoint.h maps them).
#include <fmt/format.h>

#include <cmath>

#include "models/zoo.h"

namespace qsweep::models {

graph::Graph build_mobilenetv2(const std::string& name, const ModelOptions& o) {
  struct Setting {
    int t, c, n, s;
  };
  const Setting settings[] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                              {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  auto ch = [&](int c) { return std::max<int64_t>(1, static_cast<int64_t>(c * o.width)); };
  graph::Builder b(name);
  int x = b.input("x");
  int64_t in = ch(32);
  x = b.conv2d("features.0.0", x, o.in_channels, in, 3, o.small_input ? 1 : 2, 1);
  x = b.relu6("features.0.2", b.batch_norm("features.0.1", x, in));
  int index = 1;
  for (const auto& st : settings) {
    const int64_t out = ch(st.c);
    for (int i = 0; i < st.n; ++i, ++index) {
      const int64_t stride = i == 0 ? st.s : 1;
      const int64_t hidden = static_cast<int64_t>(std::nearbyint(static_cast<double>(in) * st.t));
      const std::string p = fmt::format("features.{}.conv.", index);
      int y = x;
      int k = 0;
      auto name_of = [&](int j) { return p + std::to_string(j); };
      if (st.t != 1) {
        y = b.relu6(name_of(k + 2), b.batch_norm(name_of(k + 1), b.conv2d(name_of(k), y, in, hidden, 1), hidden));
        k += 3;
      }
      y = b.conv2d(name_of(k), y, hidden, hidden, 3, stride, 1, hidden);
      y = b.relu6(name_of(k + 2), b.batch_norm(name_of(k + 1), y, hidden));
      k += 3;
      y = b.batch_norm(name_of(k + 1), b.conv2d(name_of(k), y, hidden, out, 1), out);
      if (stride == 1 && in == out) y = b.add(fmt::format("features.{}.add", index), x, y);
      x = y;
      in = out;
    }
  }
  const int64_t last = o.width > 1.0 ? ch(1280) : 1280;
  x = b.conv2d("features.18.0", x, in, last, 1);
  x = b.relu6("features.18.2", b.batch_norm("features.18.1", x, last));
  x = b.dropout("classifier.0", b.mean_hw("mean", x), 0.0);
  b.output(b.linear("classifier.1", x, last, o.num_classes));
  return b.finish();
}

}  // namespace qsweep::models
