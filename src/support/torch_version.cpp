// LibTorch version string for provenance (kept apart from the generated version.cpp so that
// reconfiguring does not recompile a torch-including TU).
#include <ATen/Context.h>
#include <torch/version.h>

#include "support/version.h"

namespace qsweep {
std::string torch_version() {
  std::string v = TORCH_VERSION;
  v += at::hasCUDA() ? " (CUDA)" : " (CPU)";
  return v;
}
}  // namespace qsweep

namespace qsweep {
std::string version_line() {
  const std::string commit = *git_commit() ? git_commit() : "unknown";
  return std::string("qsweep ") + version() + " (commit " + commit + ")\nLibTorch " + torch_version();
}
}  // namespace qsweep
