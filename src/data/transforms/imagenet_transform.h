// The two ImageNet preprocessing recipes of MQBench's loaders (SPEC §4), on decoded RGB images,
// producing planar uint8 [3, size, size] exactly as torchvision 0.14's PIL path does:
//
//   val:   Resize(256) + CenterCrop(224)
//   calib: RandomResizedCrop(224, scale=(0.08, 1), ratio=(3/4, 4/3)) + RandomHorizontalFlip()
//
//   std::vector<uint8_t> chw(3 * 224 * 224);
//   val_transform(img, 256, 224, chw.data());
//   SampleRng rng(1005, 1 + i);
//   CalibCrop c = sample_calib_crop(img.height, img.width, rng);
//   calib_transform(img, c, 224, chw.data());
//
// Normalisation (ToTensor + Normalize) is not applied here: shards store uint8 and the mean/std
// as attributes; data::BatchReader normalises when it reads.
#pragma once

#include <cstdint>

#include "data/sources/jpeg_decode.h"
#include "data/prepare/sample_rng.h"

namespace qsweep::data {

// torchvision Resize(resize) (shorter side to `resize`, longer side int(resize * long / short))
// then CenterCrop(crop) (top = int(round((h - crop) / 2.0)), round half to even).
void val_transform(const RgbImage& img, int64_t resize, int64_t crop, uint8_t* dst_chw);

// A RandomResizedCrop box in source pixels plus the horizontal flip.
struct CalibCrop {
  int64_t top = 0, left = 0, height = 0, width = 0;
  bool flip = false;
  bool fallback = false;  // none of the 10 attempts fitted: the centre crop rule was used
};

// RandomResizedCrop.get_params (torchvision 0.14) then RandomHorizontalFlip(0.5), drawn from rng
// in this order: per attempt (at most 10) an area fraction uniform in [scale_lo, scale_hi) and
// a log-aspect uniform in [log(ratio_lo), log(ratio_hi)); w = round(sqrt(area * ratio)),
// h = round(sqrt(area / ratio)); if the box fits, top = randint(0, H - h + 1) and
// left = randint(0, W - w + 1); otherwise the centre crop fallback. Then flip = uniform01() < 0.5.
CalibCrop sample_calib_crop(int64_t height, int64_t width, SampleRng& rng, double scale_lo = 0.08,
                            double scale_hi = 1.0, double ratio_lo = 3.0 / 4.0, double ratio_hi = 4.0 / 3.0);

// Crops `c` out of img, resizes it to size x size (PIL bilinear) and flips if c.flip.
void calib_transform(const RgbImage& img, const CalibCrop& c, int64_t size, uint8_t* dst_chw);

}  // namespace qsweep::data
