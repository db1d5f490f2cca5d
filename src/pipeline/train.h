// Trains a graph with SGD (momentum, weight decay, cosine schedule, optional label smoothing),
// in one process or data-parallel over several — what `qsweep train` and the demo zoo use.
// Deterministic for a fixed seed and replica count on CPU.
//
//   TrainConfig cfg;  cfg.epochs = 3;  cfg.lr = 0.1;
//   TrainReport r = train(g, images, labels, cfg);   // images normalised float [N, C, H, W]
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <utility>

#include "graph/graph.h"

namespace qsweep::pipeline {

struct TrainProgress {
  int epoch = 0, epochs = 0;
  int64_t step = 0, steps = 0;  // global step counts
  double loss = 0, accuracy = 0;  // running means over the current epoch
  double elapsed_s = 0, eta_s = 0, images_per_s = 0;
};

struct TrainConfig {
  int epochs = 1;
  int64_t batch_size = 128;
  double lr = 0.1;
  double warmup_epochs = 0;    // linear warm-up from 0 to lr over these epochs, then the cosine
  double momentum = 0.9;
  double weight_decay = 5e-4;
  double label_smoothing = 0.0;
  bool flip = true;            // random horizontal flips
  uint64_t seed = 1;
  int64_t progress_every = 50;  // steps between progress callbacks
  std::function<void(const TrainProgress&)> on_progress;
  // Data parallelism over `replicas` processes holding the same initial weights and seed: each
  // step every replica draws the same global batch of `batch_size` images, computes gradients on
  // its slice, and `sum` adds a float tensor across replicas in place (MPI_Allreduce in
  // `qsweep train` under mpirun). The summed gradients keep the replicas' weights identical;
  // batch-norm running statistics are averaged at the end. Unset `sum`: one process.
  int rank = 0, replicas = 1;
  std::function<void(at::Tensor&)> sum;
};

struct TrainReport {
  double final_loss = 0, final_train_accuracy = 0, seconds = 0;
  int64_t steps = 0;
};

TrainReport train(graph::Graph& g, const at::Tensor& images, const at::Tensor& labels, const TrainConfig& config);

// The learning rate at `step` of `total` (steps_per_epoch for the warm-up length).
double learning_rate(const TrainConfig& config, int64_t step, int64_t total, int64_t steps_per_epoch);
// [begin, count) of a batch of n images for replica `rank` of `replicas`: the first n % replicas
// replicas take one image more.
std::pair<int64_t, int64_t> replica_slice(int64_t n, int rank, int replicas);

}  // namespace qsweep::pipeline
