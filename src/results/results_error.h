// The results layer's exceptions. ResultsError covers results files that are valid HDF5 but not
// what qsweep expects, and failed commits (HDF5's own failures are h5::Error, support/h5.h);
// AnchorError names the anchor file, line and column. Messages name the file/key/value and what
// was expected (STYLE rule 13).
#pragma once

#include "support/error.h"

namespace qsweep::results {

class ResultsError : public Error {
 public:
  using Error::Error;
};

class AnchorError : public ResultsError {
 public:
  using ResultsError::ResultsError;
};

}  // namespace qsweep::results
