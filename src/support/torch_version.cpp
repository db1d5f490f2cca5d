// LibTorch version string for provenance (kept apart from the generated version.cpp so that
// reconfiguring does not recompile a torch-including TU).
#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/version.h>

#if QSWEEP_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

#include "support/version.h"

namespace qsweep {
// "1.13.0 (CPU)"; a CUDA build says its toolkit and what it sees: "2.11.0 (CUDA 13.0, 1 GPU)",
// "2.11.0 (CUDA 13.0, no GPU visible)" — a results row then tells where its numbers came from.
std::string torch_version() {
  std::string v = TORCH_VERSION;
#if QSWEEP_WITH_CUDA
  const int gpus = at::hasCUDA() ? static_cast<int>(at::detail::getCUDAHooks().getNumGPUs()) : 0;
  v += " (CUDA " + std::to_string(CUDART_VERSION / 1000) + "." + std::to_string(CUDART_VERSION % 1000 / 10) + ", " +
       (gpus ? std::to_string(gpus) + (gpus == 1 ? " GPU)" : " GPUs)") : std::string("no GPU visible)"));
#else
  v += at::hasCUDA() ? " (CUDA)" : " (CPU)";
#endif
  return v;
}
}  // namespace qsweep

namespace qsweep {
std::string version_line() {
  const std::string commit = *git_commit() ? git_commit() : "unknown";
  return std::string("qsweep ") + version() + " (commit " + commit + ")\nLibTorch " + torch_version();
}
}  // namespace qsweep
