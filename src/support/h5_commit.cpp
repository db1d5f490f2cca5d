#include "support/h5_commit.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "support/host.h"

namespace qsweep::h5 {
namespace {

namespace fs = std::filesystem;

std::string folder_of(const std::string& path) {
  const auto parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

// The steps every commit ends with: `tmp` (complete, closed) synced, renamed over `path`, and the
// folder synced so the rename itself survives a power cut. `fail` throws.
template <class Fail>
void sync_and_rename(const std::string& tmp, const std::string& path, Fail&& fail) {
  const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(fmt::format("cannot reopen {} to sync it: {}", tmp, std::strerror(errno)));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) fail(fmt::format("cannot sync {}: {}", tmp, std::strerror(err)));
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) fail(fmt::format("cannot rename {} over it: {}", tmp, ec.message()));
  const std::string folder = folder_of(path);
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  // The new file is in place; a folder that cannot be synced is reported, not undone.
  if (dir < 0) throw CommitError(fmt::format("{}: cannot open {} to sync it: {}", path, folder, std::strerror(errno)));
  const int drc = ::fsync(dir);
  const int derr = errno;
  ::close(dir);
  if (drc != 0) throw CommitError(fmt::format("{}: fsync of {} failed: {}", path, folder, std::strerror(derr)));
}

// "<path>: <what>; the file is unchanged", after removing `tmp`.
auto unchanged_failure(const std::string& path, const std::string& tmp) {
  return [path, tmp](const std::string& what) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw CommitError(fmt::format("{}: {}; the file is unchanged", path, what));
  };
}

}  // namespace

WriterLock::WriterLock(const std::string& path, const std::string& what, const std::string& hint) {
  const std::string lock = path + ".lock";
  fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw CommitError(fmt::format("{}: cannot create the lock file {}: {}", path, lock, std::strerror(errno)));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    char holder[256] = {};
    const ssize_t n = ::pread(fd_, holder, sizeof(holder) - 1, 0);
    ::close(fd_);
    fd_ = -1;
    throw CommitError(fmt::format("{}: another qsweep run is writing this {} ({}); wait for it to finish, or {}", path,
                                  what, n > 0 ? std::string(holder, static_cast<size_t>(n)) : "holder unknown", hint));
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
  const auto fail = unchanged_failure(path, tmp);
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
  if (::close(fd) != 0) fail(fmt::format("cannot close {}: {}", tmp, std::strerror(errno)));
  sync_and_rename(tmp, path, fail);
}

StagedFile::StagedFile(const std::string& path, int schema_version) : path_(path), tmp_(path + ".tmp") {
  file_.emplace(File::create(tmp_, schema_version));
}

StagedFile::~StagedFile() {
  file_.reset();
  if (!committed_) {
    std::error_code ignored;
    fs::remove(tmp_, ignored);
  }
}

void StagedFile::commit() {
  const auto fail = unchanged_failure(path_, tmp_);
  try {
    file_->flush();
  } catch (const Error& e) {
    file_.reset();
    fail(e.what());
  }
  file_.reset();  // H5Fclose: HDF5 writes nothing to the file after this
  sync_and_rename(tmp_, path_, fail);
  committed_ = true;
}

}  // namespace qsweep::h5
