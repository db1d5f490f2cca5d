// idx format: big-endian magic 0x0000TTNN (TT type code, NN number of dims), NN big-endian u32
// sizes, then the payload. zlib's gzread reads both gzip and uncompressed files transparently.
#include "data/sources/idx_file.h"

#include <fmt/format.h>
#include <zlib.h>

#include <memory>

#include "data/data_error.h"

namespace qsweep::data {
namespace {

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

uint32_t big_endian(const unsigned char* b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

}  // namespace

IdxArray read_idx(const std::string& path) {
  std::unique_ptr<gzFile_s, GzCloser> f(gzopen(path.c_str(), "rb"));
  if (!f) throw DataError(fmt::format("{}: cannot open idx file", path));
  auto read_exact = [&](void* buf, size_t n, const char* what) {
    size_t got = 0;
    while (got < n) {
      const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - got, 1u << 30));
      const int r = gzread(f.get(), static_cast<char*>(buf) + got, chunk);
      if (r <= 0) {
        int err = 0;
        const char* msg = gzerror(f.get(), &err);
        throw DataError(fmt::format("{}: truncated or corrupt idx file while reading {} ({} of {} bytes{}{})", path,
                                    what, got, n, err ? ": " : "", err ? msg : ""));
      }
      got += static_cast<size_t>(r);
    }
  };
  unsigned char magic[4];
  read_exact(magic, 4, "the magic number");
  if (magic[0] != 0 || magic[1] != 0) {
    throw DataError(fmt::format("{}: not an idx file (magic {:02x}{:02x}{:02x}{:02x}, expected 0000TTNN)", path,
                                magic[0], magic[1], magic[2], magic[3]));
  }
  if (magic[2] != 0x08) {
    throw DataError(fmt::format("{}: idx type code 0x{:02x}, expected 0x08 (unsigned byte)", path, magic[2]));
  }
  const int ndims = magic[3];
  if (ndims < 1 || ndims > 4) throw DataError(fmt::format("{}: idx header claims {} dimensions, expected 1-4", path, ndims));
  IdxArray out;
  constexpr size_t kMaxBytes = size_t{1} << 34;
  size_t total = 1;
  for (int d = 0; d < ndims; ++d) {
    unsigned char b[4];
    read_exact(b, 4, "the header");
    const size_t dim = big_endian(b);
    out.dims.push_back(static_cast<int64_t>(dim));
    // Checked before multiplying: four 32-bit dimensions can overflow 64 bits.
    if (dim != 0 && total > kMaxBytes / dim) {
      throw DataError(fmt::format("{}: idx header claims more than {} bytes, refusing", path, kMaxBytes));
    }
    total *= dim;
  }
  // The payload is read in chunks as it arrives, so a header promising more than the file holds
  // fails as truncated without first allocating what it promised.
  constexpr size_t kChunk = size_t{1} << 24;
  while (out.data.size() < total) {
    const size_t have = out.data.size(), n = std::min(kChunk, total - have);
    out.data.resize(have + n);
    read_exact(out.data.data() + have, n, "the payload");
  }
  unsigned char extra;
  if (gzread(f.get(), &extra, 1) > 0) {
    throw DataError(fmt::format("{}: idx payload is longer than the header's {} bytes", path, total));
  }
  return out;
}

}  // namespace qsweep::data
