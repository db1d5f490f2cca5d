// A read-only file read by offset (pread), with its size fixed at open. Checkpoint readers check
// every offset and length against size() before asking for bytes, so a header that claims more
// than the file holds is refused before anything is allocated.
#pragma once

#include <cstdint>
#include <string>

namespace qsweep::models {

class InputFile {
 public:
  // Throws CheckpointError: missing, unreadable, not a regular file.
  explicit InputFile(const std::string& path);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }
  // Reads exactly n bytes at offset into dst; throws CheckpointError (naming `what`) if the range
  // lies past the end of the file or the read fails (e.g. the file shrank meanwhile).
  void read(uint64_t offset, void* dst, uint64_t n, const char* what) const;
  std::string read_string(uint64_t offset, uint64_t n, const char* what) const;

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace qsweep::models
