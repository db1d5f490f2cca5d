// How qsweep's HDF5 files reach the disk: the crash-consistency and locking rules for shards and
// results files, in one place. A file is never changed in place. HDF5 promises nothing about a
// file whose writer died mid-write, and its library state after a failed write is not safe to
// continue from (seen: a crash at exit), so HDF5 never gets either chance at a file of `path`:
//
// - small files that change many times (results): the file is opened in memory (HDF5's core
//   driver), changed there, and its whole image replaces the file through write_atomically();
// - large files written once (shards): HDF5 writes `<path>.tmp` (StagedFile), which commit()
//   syncs and renames over `path`.
//
// Either way the last steps are the same: fsync of the new bytes, rename(2) over `path` (atomic),
// fsync of the folder. A reader, or a crash at any moment, finds the old file or the new one,
// complete either way; a failed write (ENOSPC, EFBIG) is reported with its cause, removes the
// temporary file and leaves the old file as it was.
//
// One writer at a time: WriterLock holds an exclusive flock(2) on `<path>.lock` for its lifetime,
// and a second writer is refused with the first one's pid and host. flock is per host; on shared
// cluster file systems it holds where the file system implements it (NFSv4, Lustre with flock).
//
//   h5::WriterLock lock("results/demo.h5", "results file", "give this run another --results file");
//   h5::change_atomically("results/demo.h5", [](h5::File& f) { f.set_attribute("finished", now); });
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "support/h5.h"

namespace qsweep::h5 {

// A commit that did not happen; the file it names is unchanged.
class CommitError : public qsweep::Error {
 public:
  using qsweep::Error::Error;
};

class WriterLock {
 public:
  // `what` names the file in the refusal ("results file"), `hint` says what to do instead.
  WriterLock(const std::string& path, const std::string& what, const std::string& hint);
  ~WriterLock();
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  int fd_ = -1;
};

// Replaces `path` by `bytes` atomically and durably. Throws CommitError naming `path` and the
// cause when any step fails, after removing the temporary file; `path` is then unchanged.
void write_atomically(const std::string& path, const std::vector<char>& bytes);

// Writes a new file at `path` whole: `fill` works on it in memory, then write_atomically.
template <class Fill>
void create_atomically(const std::string& path, int schema_version, Fill&& fill);
// One change to the file at `path`: `edit` works on it in memory, then write_atomically.
template <class Edit>
void change_atomically(const std::string& path, Edit&& edit);

// A new file HDF5 writes at `<path>.tmp`; commit() makes it `path`. Destroyed uncommitted (an
// exception on the way), it removes the temporary file and `path` is untouched.
class StagedFile {
 public:
  StagedFile(const std::string& path, int schema_version);
  ~StagedFile();
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;

  File& file() { return *file_; }
  const std::string& temporary_path() const { return tmp_; }
  // Flushes and closes the file (close every DataSet first), syncs it and renames it over
  // `path`. Throws CommitError, after which `path` is unchanged.
  void commit();

 private:
  std::string path_, tmp_;
  std::optional<File> file_;
  bool committed_ = false;
};

// ---- template definitions ----

template <class Fill>
void create_atomically(const std::string& path, int schema_version, Fill&& fill) {
  File f = File::create_in_memory(path, schema_version);
  fill(f);
  f.flush();
  write_atomically(path, f.image());
}

template <class Edit>
void change_atomically(const std::string& path, Edit&& edit) {
  File f = File::open_in_memory(path);
  edit(f);
  f.flush();
  write_atomically(path, f.image());
}

}  // namespace qsweep::h5
