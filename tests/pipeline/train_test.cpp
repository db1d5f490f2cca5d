// The training loop behind `qsweep train` and the demo zoo: it learns, its schedule is the one
// documented, bad settings fail, and what it saves loads back into the same function.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <cmath>

#include "fashion_mnist.h"
#include "graph/executor.h"
#include "models/checkpoint/checkpoint.h"
#include "models/weights.h"
#include "models/zoo.h"
#include "pipeline/task.h"
#include "pipeline/train.h"

namespace qsweep::pipeline {
namespace {

models::ModelOptions demo_options() { return models::ModelOptions::fashion_mnist(0.125); }

TEST(Train, LowersTheLossAndSavesWhatLoadsBack) {
  at::manual_seed(0);
  auto g = models::build_model("resnet18", demo_options());
  const auto x = testing::images("train-images-idx3-ubyte.gz", 1024);
  const auto y = testing::labels("train-labels-idx1-ubyte.gz", 1024);
  TrainConfig cfg;
  cfg.epochs = 3;
  cfg.batch_size = 64;
  cfg.lr = 0.05;
  cfg.warmup_epochs = 0.5;
  cfg.progress_every = 16;  // once per epoch
  std::vector<double> losses;
  cfg.on_progress = [&](const TrainProgress& p) { losses.push_back(p.loss); };
  const auto report = train(g, x, y, cfg);
  ASSERT_EQ(losses.size(), 3u);
  std::printf("[epoch losses %.3f %.3f %.3f, final train accuracy %.3f]\n", losses[0], losses[1], losses[2],
              report.final_train_accuracy);
  EXPECT_LT(losses[2], losses[0] * 0.7);
  EXPECT_GT(report.final_train_accuracy, 0.6);  // chance is 0.1
  EXPECT_EQ(report.steps, 48);

  const std::string path = ::testing::TempDir() + "train_test.pth";
  models::write_state_dict(path, models::state_dict_of(g));
  auto loaded = models::build_model("resnet18", demo_options());
  models::load_weights(loaded, models::read_state_dict(path), path);
  at::NoGradGuard ng;
  const auto probe = testing::images("t10k-images-idx3-ubyte.gz", 64);
  EXPECT_TRUE(at::equal(graph::run(g, probe), graph::run(loaded, probe)));
}

TEST(Train, SameSeedSameWeights) {
  const auto x = testing::images("train-images-idx3-ubyte.gz", 256);
  const auto y = testing::labels("train-labels-idx1-ubyte.gz", 256);
  TrainConfig cfg;
  cfg.batch_size = 64;
  auto once = [&] {
    at::manual_seed(0);
    auto g = models::build_model("mobilenetv2_1.0", demo_options());
    train(g, x, y, cfg);
    return g;
  };
  const auto a = once(), b = once();
  for (const auto& name : a.params.names()) EXPECT_TRUE(at::equal(a.params.at(name), b.params.at(name))) << name;
}

TEST(Train, ScheduleWarmsUpLinearlyThenFollowsTheCosine) {
  TrainConfig cfg;
  cfg.lr = 0.1;
  cfg.warmup_epochs = 1;
  // 10 steps per epoch, 3 epochs: steps 0-9 warm up to the peak, 10-29 are the cosine.
  EXPECT_DOUBLE_EQ(learning_rate(cfg, 0, 30, 10), 0.01);
  EXPECT_DOUBLE_EQ(learning_rate(cfg, 9, 30, 10), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(cfg, 10, 30, 10), 0.1);
  EXPECT_NEAR(learning_rate(cfg, 20, 30, 10), 0.05, 1e-12);
  EXPECT_LT(learning_rate(cfg, 29, 30, 10), 0.001);
  cfg.warmup_epochs = 0;
  EXPECT_DOUBLE_EQ(learning_rate(cfg, 0, 30, 10), 0.1);
  EXPECT_NEAR(learning_rate(cfg, 15, 30, 10), 0.05, 1e-12);
}

TEST(Train, DataParallelSlicesCoverTheBatchOnce) {
  for (int replicas : {1, 2, 3}) {
    int64_t next = 0;
    for (int r = 0; r < replicas; ++r) {
      const auto [begin, count] = replica_slice(128, r, replicas);
      EXPECT_EQ(begin, next);
      next += count;
    }
    EXPECT_EQ(next, 128);
  }
  EXPECT_EQ(replica_slice(5, 1, 2), (std::pair<int64_t, int64_t>{3, 2}));
}

TEST(Train, RejectsBadSettings) {
  auto g = models::build_model("resnet18", demo_options());
  const auto x = testing::images("train-images-idx3-ubyte.gz", 64);
  const auto y = testing::labels("train-labels-idx1-ubyte.gz", 64);
  TrainConfig cfg;
  cfg.replicas = 2;  // no sum across them
  EXPECT_THROW(train(g, x, y, cfg), TaskError);
  cfg.replicas = 1;
  cfg.rank = 1;
  EXPECT_THROW(train(g, x, y, cfg), TaskError);
  cfg.rank = 0;
  EXPECT_THROW(train(g, x, y.narrow(0, 0, 10), cfg), TaskError);
}

}  // namespace
}  // namespace qsweep::pipeline
