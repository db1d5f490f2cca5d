// A selection of table cells written as `key=value,key=value` (`qsweep run --filter`,
// `qsweep show --cell`): a cell matches when every key has one of its values; a value may list
// alternatives with '|' (`wbit=4|8`). Keys are checked against the caller's list, with a
// "did you mean".
//
//   CellFilter f = CellFilter::parse("model=resnet18,wbit=4|8", {"model", "backend", "wbit"});
//   bool yes = f.matches({{"model", "resnet18"}, {"backend", "academic"}, {"wbit", "4"}});
#pragma once

#include <map>
#include <string>
#include <vector>

#include "support/error.h"

namespace qsweep {

// A filter that does not parse is a command-line error (exit 1); one that parses but selects
// nothing in a file is the file's (the caller throws its own error, exit 2).
class CellFilterError : public UsageError {
 public:
  using UsageError::UsageError;
};

class CellFilter {
 public:
  // Throws CellFilterError naming the bad term ("'wbit' has no value", "unknown key 'wbits'; did you mean 'wbit'?").
  static CellFilter parse(const std::string& text, const std::vector<std::string>& keys);

  bool matches(const std::map<std::string, std::string>& cell) const;
  bool empty() const { return terms_.empty(); }
  // "model=resnet18,wbit=4|8" as given (normalised: no spaces).
  std::string text() const;

 private:
  std::vector<std::pair<std::string, std::vector<std::string>>> terms_;
};

}  // namespace qsweep
