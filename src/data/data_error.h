// Errors of the data layer: a dataset file that is missing, truncated or not what it claims.
// Messages name the file and what was expected.
#pragma once

#include "support/error.h"

namespace qsweep::data {

class DataError : public Error {
 public:
  using Error::Error;
};

}  // namespace qsweep::data
