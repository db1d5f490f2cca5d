// libjpeg reports fatal errors through error_exit, which must not return: it longjmps back into
// decode_jpeg_rgb, which then throws. The jump only crosses libjpeg's C frames; the C++ objects
// live in decode_jpeg_rgb's own frame and are destroyed by the throw as usual.
#include "data/sources/jpeg_decode.h"

#include <fmt/format.h>

#include <csetjmp>
#include <cstdio>
#include <fstream>
#include <iterator>

// jpeglib.h needs size_t and FILE declared first.
#include <jerror.h>
#include <jpeglib.h>

namespace qsweep::data {
namespace {

struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool truncated;
};

void on_error_exit(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void on_message(j_common_ptr cinfo, int level) {
  // level -1 is a warning about corrupt data. Only a premature end matters (PIL refuses it);
  // the others are the famous harmless ImageNet warnings that PIL also ignores.
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  if (level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) err->truncated = true;
}

// PIL's MULDIV255 and cmyk2rgb (libImaging/Convert.c) on Adobe-inverted CMYK samples.
inline uint8_t muldiv255(int a, int b) {
  const int tmp = a * b + 128;
  return static_cast<uint8_t>(((tmp >> 8) + tmp) >> 8);
}

}  // namespace

RgbImage decode_jpeg_rgb(const uint8_t* data, size_t size, const std::string& name, int64_t max_pixels) {
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error_exit;
  err.pub.emit_message = on_message;
  err.truncated = false;
  RgbImage out;
  std::vector<uint8_t> row;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    throw ImageError(fmt::format("{}: not a decodable JPEG ({})", name, err.message));
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, const_cast<unsigned char*>(data), static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  const int64_t pixels = static_cast<int64_t>(cinfo.image_width) * cinfo.image_height;
  if (pixels > max_pixels) {
    const auto w = cinfo.image_width, h = cinfo.image_height;
    jpeg_destroy_decompress(&cinfo);
    throw ImageError(fmt::format("{}: the JPEG header declares {} x {} = {} pixels, above the limit of {} "
                                 "(qsweep prepare imagenet --max-image-pixels)",
                                 name, w, h, pixels, max_pixels));
  }
  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  const bool gray = cinfo.jpeg_color_space == JCS_GRAYSCALE;
  cinfo.out_color_space = cmyk ? JCS_CMYK : gray ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  const int comps = cinfo.output_components;
  out.height = cinfo.output_height;
  out.width = cinfo.output_width;
  out.pixels.resize(static_cast<size_t>(out.height * out.width * 3));
  row.resize(static_cast<size_t>(out.width) * comps);
  const bool inverted = cmyk && cinfo.saw_Adobe_marker;
  while (cinfo.output_scanline < cinfo.output_height && !err.truncated) {
    uint8_t* dst = out.pixels.data() + static_cast<size_t>(cinfo.output_scanline) * out.width * 3;
    JSAMPROW rows[1] = {row.data()};
    jpeg_read_scanlines(&cinfo, rows, 1);
    if (comps == 3) {
      std::copy(row.begin(), row.end(), dst);
    } else if (comps == 1) {
      for (int64_t x = 0; x < out.width; ++x) dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = row[x];
    } else {
      for (int64_t x = 0; x < out.width; ++x) {
        int c[4];
        for (int k = 0; k < 4; ++k) c[k] = inverted ? 255 - row[4 * x + k] : row[4 * x + k];
        const int nk = 255 - c[3];
        for (int k = 0; k < 3; ++k) dst[3 * x + k] = static_cast<uint8_t>(nk - muldiv255(c[k], nk));
      }
    }
  }
  if (err.truncated) {
    jpeg_destroy_decompress(&cinfo);
    throw ImageError(fmt::format("{}: JPEG data is truncated (premature end of data)", name));
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return out;
}

RgbImage decode_jpeg_rgb(const std::string& path, int64_t max_pixels) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ImageError(fmt::format("{}: cannot open image file", path));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.empty()) throw ImageError(fmt::format("{}: empty file, expected a JPEG", path));
  return decode_jpeg_rgb(bytes.data(), bytes.size(), path, max_pixels);
}

}  // namespace qsweep::data
