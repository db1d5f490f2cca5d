// sha256_file: the checkpoint's bytes streamed through support/sha256.h.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "models/checkpoint/checkpoint.h"
#include "models/checkpoint/input_file.h"
#include "support/sha256.h"

namespace qsweep::models {

std::string sha256_file(const std::string& path) {
  const InputFile in(path);
  Sha256 h;
  std::vector<char> buf(size_t{1} << 20);
  for (uint64_t off = 0; off < in.size();) {
    const uint64_t n = std::min<uint64_t>(buf.size(), in.size() - off);
    in.read(off, buf.data(), n, "the bytes to hash");
    h.update(buf.data(), static_cast<size_t>(n));
    off += n;
  }
  return h.hex();
}

}  // namespace qsweep::models
