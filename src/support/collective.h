// The collectives a task group needs (all-reduce, broadcast, barrier over the G ranks that run one
// task), as an interface of the lowest layer: observers (quant/), evaluation and reconstruction
// (pipeline/) reduce through it, and only dist/ implements it — over an MPI sub-communicator for
// CPU tensors (dist/mpi_collective.h) or NCCL for CUDA tensors (dist/nccl_collective.h).
//
//   void calibrate(const support::Collective& group, at::Tensor& batch_min) {
//     group.all_reduce(batch_min, support::Reduce::kMin);   // every rank now holds the group's min
//   }
//
// A null Collective* everywhere means "this rank alone": the single-rank code path, unchanged.
// Every implementation gives every rank of the group the same bits (a sum is reduced at one
// rank and broadcast, never summed in a rank-dependent order), so ranks that start equal stay equal.
#pragma once

#include <ATen/core/Tensor.h>

#include <algorithm>
#include <cstdint>
#include <string>

namespace qsweep::support {

enum class Reduce { kSum, kMin, kMax };

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;  // within the group, 0 .. size() − 1
  virtual int size() const = 0;
  // In place on every rank; `t` must be contiguous, of the same shape and dtype on every rank.
  virtual void all_reduce(at::Tensor& t, Reduce op) const = 0;
  virtual void broadcast(at::Tensor& t, int root) const = 0;
  virtual void barrier() const = 0;
  virtual std::string kind() const = 0;  // "mpi", "nccl": recorded with the row
};

// The part of `n` items (images of a batch, batches of the evaluation split) that group rank
// `rank` of `size` takes: contiguous, in rank order, sizes differing by at most one.
struct Part {
  int64_t begin = 0, count = 0;
};
inline Part part_of(int64_t n, int rank, int size) {
  const int64_t base = n / size, extra = n % size;
  const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, base + (rank < extra ? 1 : 0)};
}

// True when `group` makes a difference (a group of more than one rank).
inline bool grouped(const Collective* group) { return group != nullptr && group->size() > 1; }

}  // namespace qsweep::support
