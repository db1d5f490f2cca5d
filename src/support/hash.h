// SHA-256 (OpenSSL) for task ids and content fingerprints.
#pragma once

#include <string>

namespace qsweep {

// Lower-case hex digest of `bytes`.
std::string sha256_hex(const std::string& bytes);

}  // namespace qsweep
