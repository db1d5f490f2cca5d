// Reader of the zip container torch.save writes (PyTorch >= 1.6): central directory (zip64
// included), STORED entries only, CRC-32 checked. Nothing in the file is trusted: counts, offsets
// and sizes are checked against the file's size before any allocation.
//
//   InputFile f(path);
//   ZipReader zip(f);
//   const ZipEntry* pkl = zip.find("archive/data.pkl");
//   std::string bytes = zip.read_string(*pkl);
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "models/checkpoint/input_file.h"

namespace qsweep::models {

struct ZipEntry {
  std::string name;
  uint64_t local_offset = 0;  // of the local file header
  uint64_t size = 0;          // uncompressed = compressed (STORED)
  uint32_t crc32 = 0;
  uint16_t method = 0;
  uint16_t flags = 0;
};

// True if the first bytes are a zip local file header ("PK\3\4").
bool looks_like_zip(const std::string& head);

class ZipReader {
 public:
  // Throws CheckpointError: no end-of-central-directory record, directory outside the file,
  // malformed or duplicate entries.
  explicit ZipReader(const InputFile& file);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(const std::string& name) const;
  // Reads the entry's e.size bytes into dst and checks its CRC-32. Throws CheckpointError for a
  // compressed or encrypted entry, a bad local header, data past the end of the file, a CRC mismatch.
  void read(const ZipEntry& e, void* dst) const;
  std::string read_string(const ZipEntry& e) const;

 private:
  uint64_t data_offset(const ZipEntry& e) const;

  const InputFile& file_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, size_t> by_name_;
};

}  // namespace qsweep::models
