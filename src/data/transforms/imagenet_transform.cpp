#include "data/transforms/imagenet_transform.h"

#include <cmath>

#include "data/transforms/pil_resize.h"

namespace qsweep::data {

void val_transform(const RgbImage& img, int64_t resize, int64_t crop, uint8_t* dst_chw) {
  const int64_t h = img.height, w = img.width;
  const int64_t shorter = std::min(h, w), longer = std::max(h, w);
  // Python's int(size * long / short): true division in double, truncated.
  const int64_t new_long = static_cast<int64_t>(static_cast<double>(resize * longer) / static_cast<double>(shorter));
  const int64_t out_w = w <= h ? resize : new_long;
  const int64_t out_h = w <= h ? new_long : resize;
  // round() in Python 3 rounds half to even, as nearbyint does in the default rounding mode.
  PixelRect window;
  window.top = static_cast<int64_t>(std::nearbyint(static_cast<double>(out_h - crop) / 2.0));
  window.left = static_cast<int64_t>(std::nearbyint(static_cast<double>(out_w - crop) / 2.0));
  window.width = window.height = crop;
  pil_bilinear_resize(img.pixels.data(), w, h, PixelRect{0, 0, w, h}, out_w, out_h, window, false, dst_chw);
}

CalibCrop sample_calib_crop(int64_t height, int64_t width, SampleRng& rng, double scale_lo, double scale_hi,
                            double ratio_lo, double ratio_hi) {
  CalibCrop c;
  const double area = static_cast<double>(height * width);
  // torchvision computes log(ratio) in float32 (torch.log of a float tensor).
  const double log_lo = static_cast<double>(std::log(static_cast<float>(ratio_lo)));
  const double log_hi = static_cast<double>(std::log(static_cast<float>(ratio_hi)));
  bool found = false;
  for (int attempt = 0; attempt < 10 && !found; ++attempt) {
    const double target_area = area * rng.uniform(scale_lo, scale_hi);
    const double aspect = std::exp(rng.uniform(log_lo, log_hi));
    const auto w = static_cast<int64_t>(std::nearbyint(std::sqrt(target_area * aspect)));
    const auto h = static_cast<int64_t>(std::nearbyint(std::sqrt(target_area / aspect)));
    if (0 < w && w <= width && 0 < h && h <= height) {
      c.top = rng.randint(0, height - h + 1);
      c.left = rng.randint(0, width - w + 1);
      c.height = h;
      c.width = w;
      found = true;
    }
  }
  if (!found) {
    c.fallback = true;
    const double in_ratio = static_cast<double>(width) / static_cast<double>(height);
    if (in_ratio < ratio_lo) {
      c.width = width;
      c.height = static_cast<int64_t>(std::nearbyint(static_cast<double>(c.width) / ratio_lo));
    } else if (in_ratio > ratio_hi) {
      c.height = height;
      c.width = static_cast<int64_t>(std::nearbyint(static_cast<double>(c.height) * ratio_hi));
    } else {
      c.width = width;
      c.height = height;
    }
    c.top = (height - c.height) / 2;
    c.left = (width - c.width) / 2;
  }
  c.flip = rng.uniform01() < 0.5;
  return c;
}

void calib_transform(const RgbImage& img, const CalibCrop& c, int64_t size, uint8_t* dst_chw) {
  pil_bilinear_resize(img.pixels.data(), img.width, img.height, PixelRect{c.left, c.top, c.width, c.height}, size, size,
                      PixelRect{0, 0, size, size}, c.flip, dst_chw);
}

}  // namespace qsweep::data
