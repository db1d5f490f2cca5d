// CUDA builds with a GPU only (skipped elsewhere): a task group through dist/nccl_collective. On
// one GPU the group has one rank — NCCL still runs every collective (ncclCommInitRank of a
// one-rank clique) — and a task run with it gives the row and quantizers of the same task run
// with the MPI group and with no group. Groups of two GPUs (G = 2) run in
// tests/integration/groups_equality_test.sh under mpirun (tools/gpu_check.sh, where the machine has
// two GPUs).
#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <gtest/gtest.h>

#include <memory>

#include "dist/mpi_collective.h"
#include "dist/nccl_collective.h"
#include "dist/world.h"
#include "models/zoo.h"
#include "pipeline/task.h"

namespace qsweep {
namespace {

// One MPI world for the whole binary (MPI_Init may run once per process): a singleton here.
dist::World& world() {
  static dist::World w(nullptr, nullptr);
  return w;
}

class NcclGroup : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!dist::nccl_available()) GTEST_SKIP() << "no NCCL in this build or no GPU";
    world();
    mpi_ = dist::make_mpi_group({0}, /*tag=*/7);
    nccl_ = dist::make_nccl_group(*mpi_, 0);
  }
  std::unique_ptr<support::Collective> mpi_, nccl_;
};

TEST_F(NcclGroup, EveryCollectiveRunsAndAgreesWithMpi) {
  EXPECT_EQ(nccl_->kind(), "nccl");
  EXPECT_EQ(nccl_->size(), 1);
  at::manual_seed(20);
  for (auto dtype : {at::kFloat, at::kDouble, at::kLong}) {
    for (auto op : {support::Reduce::kSum, support::Reduce::kMin, support::Reduce::kMax}) {
      const auto x = (at::randn({1000}) * 100).to(dtype);
      auto on_gpu = x.cuda(), on_host = x.clone(), via_mpi = x.clone();
      nccl_->all_reduce(on_gpu, op);
      nccl_->all_reduce(on_host, op);  // a host tensor goes to the device and back
      mpi_->all_reduce(via_mpi, op);
      EXPECT_TRUE(at::equal(on_gpu.cpu(), via_mpi));
      EXPECT_TRUE(at::equal(on_host, via_mpi));
    }
  }
  auto b = at::arange(10, at::kFloat).cuda();
  nccl_->broadcast(b, 0);
  EXPECT_TRUE(at::equal(b.cpu(), at::arange(10, at::kFloat)));
  nccl_->barrier();
}

TEST_F(NcclGroup, ATaskOnTheGroupGivesTheRowAndQuantizersOfOneRank) {
  at::manual_seed(21);
  auto g = models::build_model("resnet18", models::ModelOptions::fashion_mnist(0.25));
  g.to(c10::Device(c10::kCUDA, 0));
  std::vector<at::Tensor> calib = {at::randn({32, 1, 32, 32}).cuda(), at::randn({32, 1, 32, 32}).cuda()};
  pipeline::TensorTaskData data(calib, at::randn({96, 1, 32, 32}).cuda(), at::randint(0, 10, {96}, at::kLong).cuda(),
                                32, "synthetic");
  pipeline::TaskSpec spec;
  spec.calib.w_observer = "mse";
  spec.calib.a_observer = "ema_mse";
  spec.calib.wbit = 4;
  const auto alone = pipeline::run_task(g, spec, data);
  for (const support::Collective* group : {mpi_.get(), nccl_.get()}) {
    const auto r = pipeline::run_task(g, spec, data, nullptr, group);
    EXPECT_EQ(r.accuracy.top1, alone.accuracy.top1) << group->kind();
    EXPECT_EQ(r.accuracy.top5, alone.accuracy.top5) << group->kind();
    ASSERT_EQ(r.quantizers.size(), alone.quantizers.size());
    for (size_t i = 0; i < r.quantizers.size(); ++i) {
      EXPECT_EQ(r.quantizers[i].scale, alone.quantizers[i].scale) << r.quantizers[i].name;
      EXPECT_EQ(r.quantizers[i].zero_point, alone.quantizers[i].zero_point) << r.quantizers[i].name;
    }
  }
}

}  // namespace
}  // namespace qsweep
