#include "dist/world.h"

#include "dist/mpi_collective.h"
#include "dist/mpi_check.h"

#include <fmt/format.h>
#include <mpi.h>

#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "support/host.h"

namespace qsweep::dist {
namespace {

using detail::check;

}  // namespace

World::World(int* argc, char*** argv) {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) {
    // MULTIPLE: rank 0's coordinator thread serves the other ranks while its main thread runs
    // tasks, which in a task group make collective calls of their own. With only SERIALIZED
    // (the main thread makes no MPI call during a sweep) rank 0 stays out of task groups.
    int provided = 0;
    check(MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread");
    if (provided < MPI_THREAD_SERIALIZED) {
      throw DistError(fmt::format("this MPI provides thread level {}, qsweep needs MPI_THREAD_SERIALIZED", provided));
    }
    owns_ = true;
  }
  int level = 0;
  MPI_Query_thread(&level);
  thread_multiple_ = level >= MPI_THREAD_MULTIPLE;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  // Ranks on this node: one shared-memory communicator per node.
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &local_rank_);
  MPI_Comm_size(node, &local_size_);
  MPI_Comm_free(&node);
  detail::open_group_parent();
}

c10::Device World::device() const {
  if (at::hasCUDA() && at::detail::getCUDAHooks().getNumGPUs() > 0) {
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(local_rank_ % at::detail::getCUDAHooks().getNumGPUs()));
  }
  return c10::Device(c10::kCPU);
}

bool World::gpu_per_rank() const {
  return at::hasCUDA() && at::detail::getCUDAHooks().getNumGPUs() >= local_size_;
}

int World::default_threads() const {
  // Measured (docs/TOOLCHAIN.md §0.3): one intra-op thread per rank, ranks = cores, is fastest.
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / std::max(1, local_size_));
}

World::~World() {
  if (owns_) {
    int finalised = 0;
    MPI_Finalized(&finalised);
    if (!finalised) {
      detail::close_group_parent();
      MPI_Finalize();
    }
  }
}

std::vector<std::vector<uint8_t>> World::gather(const std::vector<uint8_t>& mine) {
  // Sizes first (MPI counts are int: one rank's buffer must stay under 2 GiB, which the
  // prepare rounds guarantee), then the bytes with Gatherv.
  if (mine.size() > static_cast<size_t>(INT32_MAX)) throw DistError("gather: buffer over 2 GiB");
  const int n = static_cast<int>(mine.size());
  std::vector<int> sizes(rank_ == 0 ? size_ : 0);
  check(MPI_Gather(&n, 1, MPI_INT, sizes.data(), 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Gather");
  std::vector<int> displs(sizes.size());
  int64_t total = 0;
  for (size_t r = 0; r < sizes.size(); ++r) {
    displs[r] = static_cast<int>(total);
    total += sizes[r];
  }
  if (total > INT32_MAX) throw DistError("gather: total over 2 GiB");
  std::vector<uint8_t> all(static_cast<size_t>(total));
  check(MPI_Gatherv(mine.data(), n, MPI_BYTE, all.data(), sizes.data(), displs.data(), MPI_BYTE, 0, MPI_COMM_WORLD),
        "MPI_Gatherv");
  std::vector<std::vector<uint8_t>> out;
  for (size_t r = 0; r < sizes.size(); ++r) {
    out.emplace_back(all.begin() + displs[r], all.begin() + displs[r] + sizes[r]);
  }
  return out;
}

bool World::any(bool mine) {
  int in = mine ? 1 : 0, out = 0;
  check(MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD), "MPI_Allreduce");
  return out != 0;
}

std::vector<std::string> World::hosts() {
  const std::string mine = host_name();
  auto parts = gather(std::vector<uint8_t>(mine.begin(), mine.end()));
  std::vector<std::string> out;
  for (const auto& p : parts) out.emplace_back(p.begin(), p.end());
  return out;
}

void World::barrier() { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

void World::sum(float* data, int64_t count) {
  constexpr int64_t kChunk = int64_t{1} << 30;  // MPI counts are int
  for (int64_t done = 0; done < count; done += kChunk) {
    const int n = static_cast<int>(std::min(kChunk, count - done));
    check(MPI_Allreduce(MPI_IN_PLACE, data + done, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
  }
}

void World::abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; this keeps [[noreturn]] honest
}

}  // namespace qsweep::dist
