// The results layer's exceptions. H5Error carries HDF5's own error stack; ResultsError covers
// results files that are valid HDF5 but not what qsweep expects; AnchorError names the anchor
// file, line and column. Messages name the file/key/value and what was expected (STYLE rule 13).
#pragma once

#include "support/error.h"

namespace qsweep::results {

class ResultsError : public Error {
 public:
  using Error::Error;
};

class H5Error : public ResultsError {
 public:
  using ResultsError::ResultsError;
};

class AnchorError : public ResultsError {
 public:
  using ResultsError::ResultsError;
};

}  // namespace qsweep::results
