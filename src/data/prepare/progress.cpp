#include "data/prepare/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace qsweep::data {

Progress::Progress(std::string label, int64_t total, bool enabled)
    : label_(std::move(label)),
      total_(total),
      enabled_(enabled),
      tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

void Progress::update(int64_t done) {
  done_ = done;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_).count();
  if (since >= (tty_ ? 0.5 : 10.0)) {
    last_ = now;
    print(false);
  }
}

void Progress::finish() { print(true); }

void Progress::print(bool final) {
  if (!enabled_) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  const auto eta = static_cast<int64_t>(rate > 0 ? static_cast<double>(total_ - done_) / rate : 0.0);
  const std::string line =
      final ? fmt::format("{}: {}/{} images in {:.1f} s ({:.1f} img/s)", label_, done_, total_, elapsed, rate)
            : fmt::format("{}: {}/{} images, {:.1f} img/s, ETA {}:{:02d}:{:02d}", label_, done_, total_, rate,
                          eta / 3600, eta / 60 % 60, eta % 60);
  std::fprintf(stderr, tty_ ? "\r%-78s%s" : "%s%s", line.c_str(), final || !tty_ ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace qsweep::data
