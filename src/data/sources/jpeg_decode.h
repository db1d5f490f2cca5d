// JPEG decoding with the system libjpeg(-turbo) into 8-bit RGB, matching what torchvision's
// ImageFolder loader gets from PIL: Image.open(path).convert('RGB').
//
//   RgbImage img = decode_jpeg_rgb("val/n01440764/ILSVRC2012_val_00000293.JPEG");
//   // img.pixels is height x width x 3, row-major
//
// PIL decodes with libjpeg's defaults (islow DCT, fancy upsampling), and Debian's Pillow links
// the same libjpeg62-turbo, so the pixels are bit-identical. Grayscale is replicated to three
// channels; CMYK/YCCK (Adobe-inverted) becomes RGB with PIL's cmyk2rgb integer formula.
// libjpeg's recoverable warnings ("extraneous bytes before marker") are ignored as PIL ignores
// them, but a premature end of data is an error, as PIL raises "image file is truncated".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/data_error.h"

namespace qsweep::data {

// A file that is not a decodable JPEG: corrupt, truncated, or another format.
class ImageError : public DataError {
 public:
  using DataError::DataError;
};

struct RgbImage {
  int64_t height = 0;
  int64_t width = 0;
  std::vector<uint8_t> pixels;  // height * width * 3, RGB interleaved
};

// The largest image decoded by default: PIL's decompression-bomb limit (2 × 89 478 485 pixels).
// A header declaring more is refused before any pixel is allocated or decoded.
inline constexpr int64_t kDefaultMaxImagePixels = 178956970;

// Throws ImageError naming `path` (cannot open, not a JPEG, corrupt or truncated data, or a
// header declaring more than `max_pixels` pixels).
RgbImage decode_jpeg_rgb(const std::string& path, int64_t max_pixels = kDefaultMaxImagePixels);
// Decodes bytes already in memory; `name` is used in error messages.
RgbImage decode_jpeg_rgb(const uint8_t* data, size_t size, const std::string& name,
                         int64_t max_pixels = kDefaultMaxImagePixels);

}  // namespace qsweep::data
