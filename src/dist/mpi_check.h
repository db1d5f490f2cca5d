// One MPI return code → DistError with MPI's own message (internal to src/dist).
#pragma once

#include <fmt/format.h>
#include <mpi.h>

#include <string>

#include "dist/world.h"

namespace qsweep::dist::detail {

inline void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    throw DistError(fmt::format("{} failed: {}", what, std::string(msg, static_cast<size_t>(len))));
  }
}

}  // namespace qsweep::dist::detail
