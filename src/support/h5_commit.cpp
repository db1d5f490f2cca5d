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

// fsync(2) of an open descriptor, closed either way; `fail` throws with the cause.
template <class Fail>
void sync_and_close(int fd, const std::string& file, Fail&& fail) {
  const int rc = ::fsync(fd);
  const int err = errno;
  if (::close(fd) != 0 && rc == 0) fail(fmt::format("cannot close {}: {}", file, std::strerror(errno)));
  if (rc != 0) fail(fmt::format("cannot sync {}: {}", file, std::strerror(err)));
}

// The steps every commit ends with: `tmp` (complete, synced, closed) renamed over `path`, and the
// folder synced so the rename itself survives a power cut. `fail` throws.
template <class Fail>
void rename_and_sync_folder(const std::string& tmp, const std::string& path, Fail&& fail) {
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) fail(fmt::format("cannot rename {} over it: {}", tmp, ec.message()));
  const std::string folder = folder_of(path);
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  // The new file is in place and complete; only the rename's durability is in doubt, so say so.
  const auto not_durable = [&](const std::string& what, int err) {
    throw CommitError(fmt::format("{}: written and renamed into place, but {} failed ({}): the rename may not "
                                  "survive a power cut",
                                  path, what, std::strerror(err)));
  };
  if (dir < 0) not_durable("opening " + folder + " to sync it", errno);
  const int drc = ::fsync(dir);
  const int derr = errno;
  ::close(dir);
  if (drc != 0) not_durable("the fsync of " + folder, derr);
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
  sync_and_close(fd, tmp, fail);  // on the descriptor that wrote, so a writeback error is seen
  rename_and_sync_folder(tmp, path, fail);
}

StagedFile::StagedFile(const std::string& path, int schema_version) : path_(path), tmp_(path + ".tmp") {
  try {
    file_.emplace(File::create(tmp_, schema_version));
  } catch (...) {  // created but not stamped: no destructor will remove it
    std::error_code ignored;
    fs::remove(tmp_, ignored);
    throw;
  }
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
  // HDF5 closes a file only with its last open object; one still open would let HDF5 write to
  // the file (and hold its lock) after the rename.
  if (const size_t open = file_->open_objects(); open > 2) {
    file_.reset();
    fail(fmt::format("{} object(s) of {} still open at commit (a DataSet or Group not closed)", open - 2, tmp_));
  }
  try {
    file_->flush();
  } catch (const Error& e) {
    file_.reset();
    fail(e.what());
  }
  file_.reset();  // H5Fclose: HDF5 writes nothing to the file after this
  const int fd = ::open(tmp_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(fmt::format("cannot reopen {} to sync it: {}", tmp_, std::strerror(errno)));
  sync_and_close(fd, tmp_, fail);
  rename_and_sync_folder(tmp_, path_, fail);
  committed_ = true;
}

}  // namespace qsweep::h5
