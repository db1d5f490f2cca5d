#include "dist/mpi_collective.h"
#include "dist/mpi_check.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <mpi.h>

#include <climits>

#include "dist/world.h"

namespace qsweep::dist {
namespace {

using detail::check;

MPI_Datatype mpi_type(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return MPI_FLOAT;
    case at::kDouble: return MPI_DOUBLE;
    case at::kLong: return MPI_INT64_T;
    case at::kInt: return MPI_INT32_T;
    case at::kByte: return MPI_UINT8_T;
    default: throw DistError(fmt::format("task group: no MPI type for {} tensors", c10::toString(t)));
  }
}

MPI_Op mpi_op(support::Reduce op) {
  switch (op) {
    case support::Reduce::kSum: return MPI_SUM;
    case support::Reduce::kMin: return MPI_MIN;
    case support::Reduce::kMax: return MPI_MAX;
  }
  return MPI_SUM;
}

class MpiGroup final : public support::Collective {
 public:
  MpiGroup(MPI_Comm comm) : comm_(comm) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  ~MpiGroup() override { MPI_Comm_free(&comm_); }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string kind() const override { return "mpi"; }

  void all_reduce(at::Tensor& t, support::Reduce op) const override {
    on_host(t, [&](at::Tensor& h) {
      const int n = count(h);
      const MPI_Datatype type = mpi_type(h.scalar_type());
      if (op == support::Reduce::kSum && h.is_floating_point()) {
        // Reduce + broadcast: MPI_Allreduce may add in a different order on different ranks.
        if (rank_ == 0) {
          check(MPI_Reduce(MPI_IN_PLACE, h.data_ptr(), n, type, MPI_SUM, 0, comm_), "MPI_Reduce");
        } else {
          check(MPI_Reduce(h.data_ptr(), nullptr, n, type, MPI_SUM, 0, comm_), "MPI_Reduce");
        }
        check(MPI_Bcast(h.data_ptr(), n, type, 0, comm_), "MPI_Bcast");
      } else {
        check(MPI_Allreduce(MPI_IN_PLACE, h.data_ptr(), n, type, mpi_op(op), comm_), "MPI_Allreduce");
      }
    });
  }

  void broadcast(at::Tensor& t, int root) const override {
    on_host(t, [&](at::Tensor& h) {
      check(MPI_Bcast(h.data_ptr(), count(h), mpi_type(h.scalar_type()), root, comm_), "MPI_Bcast");
    });
  }

  void barrier() const override { check(MPI_Barrier(comm_), "MPI_Barrier"); }

 private:
  static int count(const at::Tensor& t) {
    if (t.numel() > INT_MAX) throw DistError(fmt::format("task group: {} elements in one reduction", t.numel()));
    return static_cast<int>(t.numel());
  }
  // Runs fn on a contiguous host tensor holding t's values, then puts the result back into t.
  template <class Fn>
  static void on_host(at::Tensor& t, Fn fn) {
    if (t.device().is_cpu() && t.is_contiguous()) return fn(t);
    auto h = t.to(at::kCPU).contiguous();
    fn(h);
    t.copy_(h);
  }

  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
};

MPI_Comm group_parent = MPI_COMM_NULL;

}  // namespace

namespace detail {
void open_group_parent() {
  if (group_parent == MPI_COMM_NULL) check(MPI_Comm_dup(MPI_COMM_WORLD, &group_parent), "MPI_Comm_dup");
}
void close_group_parent() {
  if (group_parent != MPI_COMM_NULL) MPI_Comm_free(&group_parent);
}
}  // namespace detail

std::unique_ptr<support::Collective> make_mpi_group(const std::vector<int>& world_ranks, int tag) {
  MPI_Group world_group, members;
  if (group_parent == MPI_COMM_NULL) throw DistError("task group: MPI is not initialised (no dist::World)");
  check(MPI_Comm_group(group_parent, &world_group), "MPI_Comm_group");
  check(MPI_Group_incl(world_group, static_cast<int>(world_ranks.size()), world_ranks.data(), &members),
        "MPI_Group_incl");
  MPI_Comm comm = MPI_COMM_NULL;
  check(MPI_Comm_create_group(group_parent, members, tag, &comm), "MPI_Comm_create_group");
  MPI_Group_free(&members);
  MPI_Group_free(&world_group);
  if (comm == MPI_COMM_NULL) throw DistError("task group: this rank is not one of the group's ranks");
  return std::make_unique<MpiGroup>(comm);
}

}  // namespace qsweep::dist
