// Bilinear resampling exactly as Pillow's Image.resize(size, BILINEAR, box) computes it
// (libImaging/Resample.c, Pillow 9.x), so prepared shards match torchvision's PIL transforms.
//
//   // shorter side to 256, then the centre 224x224 window, written planar (CHW):
//   pil_bilinear_resize(src, region, 256, 341, window, out_chw);
//
// Pillow's algorithm: a triangle filter whose support grows with the downscale factor
// (support = scale when shrinking, so it antialiases), coefficients normalised to sum 1, then
// converted to 22-bit fixed point (rounded half away from zero); a horizontal pass into an
// 8-bit intermediate (only the rows the vertical pass needs), then a vertical pass; every
// accumulator starts at 1 << 21 and is shifted right by 22 and clamped to 0..255.
// Each output pixel depends only on its own coefficients, so computing just the window that a
// crop keeps gives the same bytes as resizing everything and cropping afterwards.
#pragma once

#include <cstdint>

namespace qsweep::data {

// A rectangle in pixels: left/top corner, width/height.
struct PixelRect {
  int64_t left = 0;
  int64_t top = 0;
  int64_t width = 0;
  int64_t height = 0;
};

// src: interleaved RGB (3 channels), `src_width` x `src_height` pixels, row stride src_width*3.
// region: the part of src that is resized (PIL's crop-then-resize; the whole image for Resize).
// The region is resized to out_width x out_height; only `window` of that result is produced,
// into dst as planar CHW uint8 [3, window.height, window.width]. Horizontal flip of the window is
// applied when `flip` is set (torchvision flips after resizing).
void pil_bilinear_resize(const uint8_t* src, int64_t src_width, int64_t src_height, PixelRect region, int64_t out_width,
                         int64_t out_height, PixelRect window, bool flip, uint8_t* dst);

}  // namespace qsweep::data
