// Streaming SHA-256 (OpenSSL EVP): shard fingerprints, checkpoint provenance, task ids.
//
//   Sha256 h; h.update(bytes, n); std::string hex = h.hex();   // 64 lowercase hex digits
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace qsweep {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  void update(const void* data, size_t n);
  // Finalises; the object must not be updated afterwards.
  std::array<uint8_t, 32> digest();
  std::string hex();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string to_hex(const uint8_t* bytes, size_t n);

// Lower-case hex digest of `bytes` (task ids).
std::string sha256_hex(const std::string& bytes);

}  // namespace qsweep
