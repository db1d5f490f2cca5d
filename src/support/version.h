// Build provenance: the qsweep version and the git commit it was configured from. Results files
// record both so every number can be traced to the code that produced it.
#pragma once

#include <string>

namespace qsweep {
const char* version();
const char* git_commit();  // short hash at configure time; empty outside a git checkout
std::string torch_version();  // e.g. "1.13.1 (CPU)" or "2.11.0 (CUDA 13.0)"
}  // namespace qsweep
