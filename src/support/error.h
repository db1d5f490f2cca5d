// The root of qsweep's exceptions. Each layer throws its own subclass (QuantError, ShardError,
// SweepError, h5::Error, ...) whose message names the file/line/key, the value and what was
// expected; only src/cli maps them to exit codes.
#pragma once

#include <stdexcept>
#include <string>

namespace qsweep {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace qsweep
