// The MPI world of one qsweep process: initialised from argc/argv, finalised on destruction.
// Without mpirun it is a singleton world (rank 0 of 1), so every command runs the same way with
// or without a launcher. Only src/dist includes <mpi.h> (STYLE rule 14); the data layer sees
// this through data::Collective.
//
//   dist::World world(argc, argv);
//   auto parts = world.gather(my_bytes);   // rank 0: one buffer per rank
//   if (world.any(failed)) ...             // every rank agrees
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <c10/core/Device.h>

#include "data/prepare/collective.h"
#include "support/error.h"

namespace qsweep::dist {

class DistError : public Error {
 public:
  using Error::Error;
};

class World final : public data::Collective {
 public:
  // Calls MPI_Init unless MPI is already initialised (then this object does not finalise).
  World(int* argc, char*** argv);
  ~World() override;
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::vector<std::vector<uint8_t>> gather(const std::vector<uint8_t>& mine) override;
  bool any(bool mine) override;
  void barrier();
  // Rank 0: every rank's host name, by rank (to keep task groups on one node); others: empty.
  std::vector<std::string> hosts();
  // Whether the MPI library lets two threads of a rank make MPI calls at once (rank 0 can then
  // run in a task group while its coordinator thread serves the others).
  bool thread_multiple() const { return thread_multiple_; }
  // Adds `count` floats across every rank, in place on each (data-parallel training's gradients).
  void sum(float* data, int64_t count);
  // Ranks on this node and this rank's index among them (MPI_COMM_TYPE_SHARED).
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }
  // cuda:<local rank> when this LibTorch has CUDA and a GPU is visible, else the CPU.
  c10::Device device() const;
  // Whether every rank on this node has a GPU of its own (NCCL refuses two ranks on one GPU).
  bool gpu_per_rank() const;
  // Intra-op threads for one rank: the node's cores divided among its ranks.
  int default_threads() const;
  // Ends every rank now (MPI_Abort). For an error only this rank saw: returning normally would
  // leave the others blocked in their next collective and MPI_Finalize waiting for them.
  [[noreturn]] void abort(int code);

 private:
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  bool owns_ = false;
  bool thread_multiple_ = false;
};

}  // namespace qsweep::dist
