// Trains a graph with SGD (momentum, weight decay, cosine schedule, optional label smoothing) —
// what `qsweep train` and the demo zoo use. Deterministic for a fixed seed on CPU.
//
//   TrainConfig cfg;  cfg.epochs = 3;  cfg.lr = 0.1;
//   TrainReport r = train(g, images, labels, cfg);   // images normalised float [N, C, H, W]
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>

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
  double momentum = 0.9;
  double weight_decay = 5e-4;
  double label_smoothing = 0.0;
  bool flip = true;            // random horizontal flips
  uint64_t seed = 1;
  int64_t progress_every = 50;  // steps between progress callbacks
  std::function<void(const TrainProgress&)> on_progress;
};

struct TrainReport {
  double final_loss = 0, final_train_accuracy = 0, seconds = 0;
  int64_t steps = 0;
};

TrainReport train(graph::Graph& g, const at::Tensor& images, const at::Tensor& labels, const TrainConfig& config);

}  // namespace qsweep::pipeline
