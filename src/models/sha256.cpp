// sha256_file through OpenSSL's EVP interface (the low-level SHA256_* calls are deprecated in 3.0).
#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "models/checkpoint.h"
#include "models/input_file.h"

namespace qsweep::models {

std::string sha256_file(const std::string& path) {
  const InputFile in(path);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    throw CheckpointError(fmt::format("{}: OpenSSL could not start a SHA-256 digest", path));
  }
  std::vector<char> buf(size_t{1} << 20);
  for (uint64_t off = 0; off < in.size();) {
    const uint64_t n = std::min<uint64_t>(buf.size(), in.size() - off);
    in.read(off, buf.data(), n, "the bytes to hash");
    if (EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(n)) != 1) {
      throw CheckpointError(fmt::format("{}: SHA-256 update failed", path));
    }
    off += n;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), md, &len) != 1) throw CheckpointError(fmt::format("{}: SHA-256 failed", path));
  std::string hex;
  hex.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

}  // namespace qsweep::models
