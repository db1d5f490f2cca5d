#include "dist/nccl_collective.h"

#include "dist/world.h"

#if QSWEEP_WITH_NCCL
#include <ATen/ATen.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <fmt/format.h>
#include <nccl.h>

#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>

#include <cstring>
#endif

namespace qsweep::dist {

#if QSWEEP_WITH_NCCL
namespace {

void check(ncclResult_t rc, const char* what) {
  if (rc != ncclSuccess) throw DistError(fmt::format("{} failed: {}", what, ncclGetErrorString(rc)));
}

ncclDataType_t nccl_type(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return ncclFloat32;
    case at::kDouble: return ncclFloat64;
    case at::kLong: return ncclInt64;
    case at::kInt: return ncclInt32;
    case at::kByte: return ncclUint8;
    default: throw DistError(fmt::format("task group: no NCCL type for {} tensors", c10::toString(t)));
  }
}

ncclRedOp_t nccl_op(support::Reduce op) {
  switch (op) {
    case support::Reduce::kSum: return ncclSum;
    case support::Reduce::kMin: return ncclMin;
    case support::Reduce::kMax: return ncclMax;
  }
  return ncclSum;
}

class NcclGroup final : public support::Collective {
 public:
  NcclGroup(const support::Collective& bootstrap, int device)
      : rank_(bootstrap.rank()), size_(bootstrap.size()), device_(device) {
    ncclUniqueId id;
    if (rank_ == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    auto bytes = at::empty({static_cast<int64_t>(sizeof(id))}, at::kByte);
    if (rank_ == 0) std::memcpy(bytes.data_ptr(), &id, sizeof(id));
    bootstrap.broadcast(bytes, 0);
    std::memcpy(&id, bytes.data_ptr(), sizeof(id));
    c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device_));
    check(ncclCommInitRank(&comm_, size_, id, rank_), "ncclCommInitRank");
  }
  ~NcclGroup() override { ncclCommDestroy(comm_); }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string kind() const override { return "nccl"; }

  // NCCL's ring gives every rank the same reduced values, so no reduce + broadcast is needed.
  void all_reduce(at::Tensor& t, support::Reduce op) const override {
    on_device(t, [&](at::Tensor& d) {
      check(ncclAllReduce(d.data_ptr(), d.data_ptr(), static_cast<size_t>(d.numel()), nccl_type(d.scalar_type()),
                          nccl_op(op), comm_, stream()),
            "ncclAllReduce");
    });
  }

  void broadcast(at::Tensor& t, int root) const override {
    on_device(t, [&](at::Tensor& d) {
      check(ncclBroadcast(d.data_ptr(), d.data_ptr(), static_cast<size_t>(d.numel()), nccl_type(d.scalar_type()),
                          root, comm_, stream()),
            "ncclBroadcast");
    });
  }

  void barrier() const override {
    auto one = at::ones({1}, at::TensorOptions(at::kFloat).device(at::kCUDA, device_));
    all_reduce(one, support::Reduce::kSum);
    one.cpu();  // waits for the reduction
  }

 private:
  cudaStream_t stream() const {
    return c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device_)).stream();
  }
  // Runs fn on a contiguous tensor on this group's device; copies back when t lives elsewhere. The
  // collective is enqueued on the current stream, so later work on t is ordered after it.
  template <class Fn>
  void on_device(at::Tensor& t, Fn fn) const {
    c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device_));
    if (t.is_cuda() && t.get_device() == device_ && t.is_contiguous()) return fn(t);
    auto d = t.to(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(device_))).contiguous();
    fn(d);
    t.copy_(d);
  }

  int rank_, size_, device_;
  ncclComm_t comm_ = nullptr;
};

}  // namespace

bool nccl_available() { return at::hasCUDA() && at::detail::getCUDAHooks().getNumGPUs() > 0; }

std::unique_ptr<support::Collective> make_nccl_group(const support::Collective& bootstrap, int device_index) {
  if (!nccl_available()) throw DistError("task group: NCCL is built in but no CUDA device is visible");
  return std::make_unique<NcclGroup>(bootstrap, device_index);
}

#else  // a build without NCCL: groups reduce over MPI (dist/mpi_collective.h)

bool nccl_available() { return false; }

std::unique_ptr<support::Collective> make_nccl_group(const support::Collective&, int) {
  throw DistError("task group: this qsweep was built without NCCL (a CPU LibTorch, or CMake found no nccl.h)");
}

#endif

}  // namespace qsweep::dist
