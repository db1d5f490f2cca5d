// A task group over MPI: the support::Collective of the G ranks that run one task, on a
// sub-communicator made by those ranks alone (MPI_Comm_create_group is collective over the group
// only, so the other ranks keep working while a group forms).
//
//   auto group = dist::make_mpi_group({2, 3, 5}, /*tag=*/index);   // called by ranks 2, 3 and 5
//   group->all_reduce(counts, support::Reduce::kSum);
//
// Tensors of any device: a CUDA tensor is copied to the host and back (dist/nccl_collective.h
// reduces on the GPU instead). Float sums are reduced at group rank 0 and broadcast, so every rank
// gets the same bits; min, max and integer sums are exact and use one MPI_Allreduce.
#pragma once

#include <memory>
#include <vector>

#include "support/collective.h"

namespace qsweep::dist {

// world_ranks: the group's MPI_COMM_WORLD ranks, ascending, this rank among them; group rank i is
// world_ranks[i]. tag: the same on every member and distinct among groups forming at once.
std::unique_ptr<support::Collective> make_mpi_group(const std::vector<int>& world_ranks, int tag);

namespace detail {
// Groups form on a duplicate of MPI_COMM_WORLD, so their set-up traffic can never meet the
// sweep's own messages (the coordinator probes MPI_COMM_WORLD for any tag). World opens it
// (collectively, after MPI_Init) and closes it before MPI_Finalize.
void open_group_parent();
void close_group_parent();
}  // namespace detail

}  // namespace qsweep::dist
