// Build provenance: the qsweep version and the git commit it was configured from. Results files
// record both so every number can be traced to the code that produced it.
#pragma once

#include <string>

namespace qsweep {
const char* version();
const char* git_commit();  // short hash at configure time; empty outside a git checkout
std::string torch_version();  // e.g. "1.13.1 (CPU)" or "2.11.0 (CUDA 13.0)"
// "qsweep 0.1.0 (commit 1a2b3c4d5e6f)\nLibTorch 1.13.1 (CPU)": `qsweep version` and `--version`.
std::string version_line();
}  // namespace qsweep
