#include "results/file_commit.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "results/results_error.h"
#include "results/store.h"

namespace qsweep::results {
namespace {

namespace fs = std::filesystem;

void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) throw ResultsError(fmt::format("{}: cannot open to sync: {}", path, std::strerror(errno)));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw ResultsError(fmt::format("{}: fsync failed: {}", path, std::strerror(err)));
}

std::string folder_of(const std::string& path) {
  const auto parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

}  // namespace

WriterLock::WriterLock(const std::string& path) {
  const std::string lock = path + ".lock";
  fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw ResultsError(fmt::format("{}: cannot create the lock file {}: {}", path, lock, std::strerror(errno)));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    char holder[256] = {};
    const ssize_t n = ::pread(fd_, holder, sizeof(holder) - 1, 0);
    ::close(fd_);
    fd_ = -1;
    throw ResultsError(fmt::format("{}: another qsweep run is writing this results file ({}); wait for it to "
                                   "finish, or give this run another --results file",
                                   path, n > 0 ? std::string(holder, static_cast<size_t>(n)) : "holder unknown"));
  }
  const std::string me = fmt::format("pid {} on {}", ::getpid(), host_name());
  if (::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, me.data(), me.size(), 0) < 0) {
    // The holder note is informative only; the lock itself is held.
  }
}

WriterLock::~WriterLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

void write_atomically(const std::string& path, const std::vector<char>& bytes) {
  const std::string tmp = path + ".tmp";
  const auto fail = [&](const std::string& what) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw ResultsError(fmt::format("{}: {}; the file is unchanged (every row written before is intact)", path, what));
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(fmt::format("cannot create {}: {}", tmp, std::strerror(errno)));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      ::close(fd);
      fail(fmt::format("cannot write {} ({} of {} bytes written): {}", tmp, done, bytes.size(), std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) fail(fmt::format("cannot sync {}: {}", tmp, std::strerror(errno)));
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) fail(fmt::format("cannot rename {} over it: {}", tmp, ec.message()));
  fsync_path(folder_of(path), true);
}

}  // namespace qsweep::results
