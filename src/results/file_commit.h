// How a results file stays readable whatever happens to its writer (kill -9 at any instant, a
// full disk, an unwritable folder): it is never changed in place, and HDF5 never writes it.
// Each change opens the file in memory (HDF5's core driver), changes it there, and hands the
// whole image to write_atomically(): our own write(2)s to `<path>.tmp`, fsync, rename(2) over
// `<path>` (atomic), fsync of the folder. A reader, or a crash at any moment, finds the old file
// or the new one, complete either way; a failed write (ENOSPC, EFBIG) is reported with its cause
// and leaves the old file as it was. HDF5 promises nothing about a file whose writer died
// mid-write, and its library state after a failed write is not safe to continue from (seen: a
// crash at exit), which is why it never gets either chance.
//
// One writer at a time: a writer holds an exclusive flock(2) on `<path>.lock` for its lifetime,
// and a second writer (another `qsweep run` on the same file) is refused with the first one's pid
// and host. flock is per host; on shared cluster file systems it holds where the file system
// implements it (NFSv4, Lustre with flock enabled).
//
//   results::WriterLock lock("results/demo.h5");          // throws ResultsError if held elsewhere
//   results::write_atomically("results/demo.h5", image_bytes);
#pragma once

#include <string>
#include <vector>

namespace qsweep::results {

class WriterLock {
 public:
  explicit WriterLock(const std::string& path);
  ~WriterLock();
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  int fd_ = -1;
};

// Replaces `path` by `bytes` atomically and durably. Throws ResultsError naming `path` and the
// cause when any step fails, after removing the temporary file; `path` is then unchanged.
void write_atomically(const std::string& path, const std::vector<char>& bytes);

}  // namespace qsweep::results
