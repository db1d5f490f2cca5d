// POSIX pread rather than iostreams: reads at absolute offsets without a shared position, and
// errno says why an open failed.
#include "models/checkpoint/input_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "models/checkpoint/checkpoint.h"

namespace qsweep::models {

InputFile::InputFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw CheckpointError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw CheckpointError(fmt::format("{}: not a regular file", path));
  }
  size_ = static_cast<uint64_t>(st.st_size);
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

void InputFile::read(uint64_t offset, void* dst, uint64_t n, const char* what) const {
  if (offset > size_ || n > size_ - offset) {
    throw CheckpointError(fmt::format("{}: truncated: {} needs bytes [{}, {}) but the file has {}", path_, what, offset,
                                      offset + n, size_));
  }
  auto* out = static_cast<char*>(dst);
  uint64_t done = 0;
  while (done < n) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(n - done, uint64_t{1} << 30));
    const ssize_t r = ::pread(fd_, out + done, chunk, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      throw CheckpointError(fmt::format("{}: read of {} failed at byte {}: {}", path_, what, offset + done,
                                        r < 0 ? std::strerror(errno) : "unexpected end of file"));
    }
    done += static_cast<uint64_t>(r);
  }
}

std::string InputFile::read_string(uint64_t offset, uint64_t n, const char* what) const {
  if (offset > size_ || n > size_ - offset) read(offset, nullptr, n, what);  // throws "truncated"
  std::string s(static_cast<size_t>(n), '\0');
  read(offset, s.data(), n, what);
  return s;
}

}  // namespace qsweep::models
