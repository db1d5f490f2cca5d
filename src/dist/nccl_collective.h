// A task group over NCCL: the same support::Collective as dist/mpi_collective.h for ranks whose
// task runs on a GPU, reducing CUDA tensors on the device (a host tensor is copied there and
// back). Built only where CMake found NCCL with a CUDA LibTorch (QSWEEP_WITH_NCCL); this file's
// implementation is the only place that knows, so no code above it has an #ifdef.
//
//   auto mpi = dist::make_mpi_group(ranks, tag);              // bootstraps NCCL's unique id
//   auto group = dist::nccl_available() ? dist::make_nccl_group(*mpi, device_index) : std::move(mpi);
#pragma once

#include <memory>

#include "support/collective.h"

namespace qsweep::dist {

// Whether this build has NCCL and a CUDA device is visible.
bool nccl_available();
// Collective over `bootstrap`'s ranks (which it uses once to share NCCL's id), on CUDA device
// `device_index`. Throws DistError where nccl_available() is false.
std::unique_ptr<support::Collective> make_nccl_group(const support::Collective& bootstrap, int device_index);

}  // namespace qsweep::dist
