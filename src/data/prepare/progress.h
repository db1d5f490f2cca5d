// One progress line on stderr for long preparation jobs: done/total, rate and ETA. On a terminal
// it redraws in place; otherwise (logs, CI) it prints a line at most every 10 s.
//
//   Progress p("val", 50000);  p.update(done);  ...  p.finish();
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace qsweep::data {

class Progress {
 public:
  Progress(std::string label, int64_t total, bool enabled = true);
  void update(int64_t done);
  void finish();

 private:
  std::string label_;
  int64_t total_, done_ = 0;
  bool enabled_, tty_;
  std::chrono::steady_clock::time_point start_, last_;
  void print(bool final);
};

}  // namespace qsweep::data
