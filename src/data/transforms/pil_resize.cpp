#include "data/transforms/pil_resize.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "data/data_error.h"

namespace qsweep::data {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's PRECISION_BITS

// Coefficients of one output axis, in Pillow's layout: per output index, the first input index
// and the number of taps, then `ksize` fixed-point weights.
struct Coeffs {
  int ksize = 0;
  std::vector<int> first, count;
  std::vector<int32_t> weights;
};

double triangle(double x) {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

// precompute_coeffs + normalize_coeffs_8bpc for the output indices [out_begin, out_end).
// in0/in1 are floats in Pillow's signature (the box), hence the float casts.
Coeffs precompute(int64_t in_size, float in0, float in1, int64_t out_size, int64_t out_begin, int64_t out_end) {
  const double scale = static_cast<double>(in1 - in0) / static_cast<double>(out_size);
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = 1.0 * filterscale;  // bilinear filter support is 1
  Coeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  const int64_t n = out_end - out_begin;
  c.first.resize(n);
  c.count.resize(n);
  c.weights.assign(static_cast<size_t>(n) * c.ksize, 0);
  std::vector<double> k(c.ksize);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t xx = out_begin + i;
    const double center = in0 + (static_cast<double>(xx) + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = static_cast<int>(in_size);
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      const double w = triangle((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (int x = 0; x < xmax; ++x) {
      if (ww != 0.0) k[x] /= ww;
      const double v = k[x] * (1 << kPrecisionBits);
      c.weights[i * c.ksize + x] = static_cast<int32_t>(k[x] < 0 ? -0.5 + v : 0.5 + v);
    }
    c.first[i] = xmin;
    c.count[i] = xmax;
  }
  return c;
}

inline uint8_t clip8(int32_t v) {
  v >>= kPrecisionBits;
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

}  // namespace

void pil_bilinear_resize(const uint8_t* src, int64_t src_width, int64_t src_height, PixelRect region, int64_t out_width,
                         int64_t out_height, PixelRect window, bool flip, uint8_t* dst) {
  if (region.left < 0 || region.top < 0 || region.width <= 0 || region.height <= 0 ||
      region.left + region.width > src_width || region.top + region.height > src_height || window.left < 0 ||
      window.top < 0 || window.left + window.width > out_width || window.top + window.height > out_height ||
      window.width <= 0 || window.height <= 0) {
    throw DataError(
        fmt::format("resize: region {}x{}+{}+{} of a {}x{} image to {}x{}, window {}x{}+{}+{} out of bounds",
                    region.width, region.height, region.left, region.top, src_width, src_height, out_width, out_height,
                    window.width, window.height, window.left, window.top));
  }
  // PIL crops first (the region becomes a new image), then resizes it with box (0, 0, w, h).
  const uint8_t* base = src + (region.top * src_width + region.left) * 3;
  const int64_t stride = src_width * 3;
  const Coeffs h = precompute(region.width, 0.f, static_cast<float>(region.width), out_width, window.left,
                              window.left + window.width);
  const Coeffs v = precompute(region.height, 0.f, static_cast<float>(region.height), out_height, window.top,
                              window.top + window.height);
  const bool need_h = out_width != region.width;
  const bool need_v = out_height != region.height;

  // Horizontal pass over the input rows the vertical pass reads: 8-bit intermediate, interleaved.
  const int64_t row_first = v.first.front();
  const int64_t row_last = v.first.back() + v.count.back();
  const int64_t tmp_rows = row_last - row_first;
  const int64_t ww = window.width;
  std::vector<uint8_t> tmp(static_cast<size_t>(tmp_rows * ww * 3));
  for (int64_t y = 0; y < tmp_rows; ++y) {
    const uint8_t* in = base + (row_first + y) * stride;
    uint8_t* out = tmp.data() + y * ww * 3;
    if (!need_h) {
      std::copy(in + window.left * 3, in + (window.left + ww) * 3, out);
      continue;
    }
    for (int64_t x = 0; x < ww; ++x) {
      const int32_t* k = &h.weights[x * h.ksize];
      const uint8_t* p = in + static_cast<int64_t>(h.first[x]) * 3;
      int32_t s0 = 1 << (kPrecisionBits - 1), s1 = s0, s2 = s0;
      for (int t = 0; t < h.count[x]; ++t) {
        s0 += p[3 * t] * k[t];
        s1 += p[3 * t + 1] * k[t];
        s2 += p[3 * t + 2] * k[t];
      }
      out[3 * x] = clip8(s0);
      out[3 * x + 1] = clip8(s1);
      out[3 * x + 2] = clip8(s2);
    }
  }

  // Vertical pass: whole rows are accumulated (contiguous, so the compiler vectorises it), then
  // clipped and written planar (CHW), optionally mirrored.
  const int64_t wh = window.height;
  const int64_t plane = wh * ww;
  std::vector<int32_t> acc(static_cast<size_t>(ww * 3));
  std::vector<uint8_t> row(static_cast<size_t>(ww * 3));
  for (int64_t y = 0; y < wh; ++y) {
    const uint8_t* r = row.data();
    if (!need_v) {
      r = tmp.data() + (window.top + y - row_first) * ww * 3;
    } else {
      std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
      const int32_t* k = &v.weights[y * v.ksize];
      for (int t = 0; t < v.count[y]; ++t) {
        const uint8_t* q = tmp.data() + (v.first[y] - row_first + t) * ww * 3;
        const int32_t kt = k[t];
        int32_t* a = acc.data();
        for (int64_t j = 0; j < ww * 3; ++j) a[j] += q[j] * kt;
      }
      for (int64_t j = 0; j < ww * 3; ++j) row[j] = clip8(acc[j]);
    }
    uint8_t* o = dst + y * ww;
    for (int64_t x = 0; x < ww; ++x) {
      const int64_t ox = flip ? ww - 1 - x : x;
      o[ox] = r[3 * x];
      o[plane + ox] = r[3 * x + 1];
      o[2 * plane + ox] = r[3 * x + 2];
    }
  }
}

}  // namespace qsweep::data
