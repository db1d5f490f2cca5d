// The root of qsweep's exceptions. Each layer throws its own subclass (QuantError, ShardError,
// SweepError, h5::Error, ...) whose message names the file/line/key, the value and what was
// expected; only src/cli/exit_codes.cpp maps them to exit codes.
#pragma once

#include <stdexcept>
#include <string>

namespace qsweep {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The command line alone is wrong: a value that does not parse or is out of range, a missing or
// contradictory argument, whatever the files hold (--set, --filter and --cell syntax included).
// Exit code 1; every other Error is 2 (src/cli/exit_codes.h).
class UsageError : public Error {
 public:
  using Error::Error;
};

}  // namespace qsweep
