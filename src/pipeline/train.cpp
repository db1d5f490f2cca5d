// SGD written out on ATen autograd (no torch::optim, to keep <torch/torch.h> out of the build):
// v = μ·v + (g + λ·w); w −= lr_t·v with lr_t = lr·(1 + cos(π·t/T))/2 — torch.optim.SGD's update —
// after an optional linear warm-up.
#include "pipeline/train.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <tuple>

#include "graph/executor.h"
#include "pipeline/task.h"

namespace qsweep::pipeline {
namespace {

// One collective per step: every gradient packed into one float buffer, summed, unpacked.
void sum_gradients(std::vector<at::Tensor>& params, const std::function<void(at::Tensor&)>& sum) {
  std::vector<at::Tensor> grads;
  for (const auto& p : params) {
    // A parameter that got no gradient on this replica contributes zeros (the sum stays aligned).
    grads.push_back(p.grad().defined() ? p.grad().reshape(-1) : at::zeros({p.numel()}, p.options()));
  }
  auto flat = at::cat(grads).to(at::kFloat).contiguous();
  sum(flat);
  int64_t offset = 0;
  for (auto& p : params) {
    auto g = flat.narrow(0, offset, p.numel()).view(p.sizes()).to(p.dtype());
    offset += p.numel();
    if (p.grad().defined()) {
      p.grad().copy_(g);
    } else {
      p.mutable_grad() = g.clone();
    }
  }
}

// Batch-norm running statistics saw only each replica's slices: their mean over replicas.
void average_buffers(graph::Graph& g, int replicas, const std::function<void(at::Tensor&)>& sum) {
  for (const auto& name : g.params.names()) {
    auto& b = g.params.at(name);
    if (!g.params.is_buffer(name) || !b.is_floating_point()) continue;
    auto f = b.to(at::kFloat).contiguous().clone();
    sum(f);
    b = (f / static_cast<double>(replicas)).to(b.dtype());
  }
}

}  // namespace

// Linear warm-up (MobileNetV2 and RegNet diverged at lr 0.1 from a cold start here), then cosine
// to 0 over the remaining steps.
double learning_rate(const TrainConfig& cfg, int64_t step, int64_t total, int64_t per_epoch) {
  const auto warm = std::min<int64_t>(total, static_cast<int64_t>(std::llround(cfg.warmup_epochs * per_epoch)));
  if (step < warm) return cfg.lr * static_cast<double>(step + 1) / static_cast<double>(warm);
  return 0.5 * cfg.lr * (1.0 + std::cos(M_PI * static_cast<double>(step - warm) / static_cast<double>(total - warm)));
}

std::pair<int64_t, int64_t> replica_slice(int64_t n, int rank, int replicas) {
  const int64_t base = n / replicas, extra = n % replicas;
  return {rank * base + std::min<int64_t>(rank, extra), base + (rank < extra ? 1 : 0)};
}

TrainReport train(graph::Graph& g, const at::Tensor& images, const at::Tensor& labels, const TrainConfig& cfg) {
  if (images.size(0) != labels.size(0) || images.size(0) == 0) {
    throw TaskError(fmt::format("train: {} images but {} labels", images.size(0), labels.size(0)));
  }
  if (cfg.epochs < 1 || cfg.batch_size < 1) throw TaskError("train: epochs and batch_size must be positive");
  if (cfg.replicas < 1 || cfg.rank < 0 || cfg.rank >= cfg.replicas || (cfg.replicas > 1 && !cfg.sum)) {
    throw TaskError(fmt::format("train: rank {} of {} replicas{}", cfg.rank, cfg.replicas,
                                cfg.replicas > 1 && !cfg.sum ? " without a sum across them" : ""));
  }
  if (cfg.batch_size < cfg.replicas) {
    throw TaskError(fmt::format("train: batch size {} is smaller than the {} replicas", cfg.batch_size, cfg.replicas));
  }
  std::vector<at::Tensor> params, velocity;
  for (const auto& name : g.params.names()) {
    if (g.params.is_buffer(name)) continue;
    auto& p = g.params.at(name);
    p = p.detach().requires_grad_(true);
    params.push_back(p);
    velocity.push_back(at::zeros_like(p));
  }
  auto gen = at::make_generator<at::CPUGeneratorImpl>(cfg.seed);
  const int64_t n = images.size(0);
  const int64_t steps_per_epoch = (n + cfg.batch_size - 1) / cfg.batch_size;
  const int64_t total_steps = steps_per_epoch * cfg.epochs;
  graph::ExecOptions exec;
  exec.train = true;
  const auto t0 = std::chrono::steady_clock::now();
  TrainReport report;
  int64_t step = 0;
  for (int epoch = 0; epoch < cfg.epochs; ++epoch) {
    const auto order = at::randperm(n, gen);
    double loss_sum = 0, correct = 0, seen = 0;
    // Mean loss and accuracy of the epoch so far over every replica's images (a collective: all
    // replicas call it at the same step).
    const auto epoch_means = [&]() -> std::pair<double, double> {
      auto totals = at::tensor({static_cast<float>(loss_sum), static_cast<float>(correct)});
      if (cfg.replicas > 1) cfg.sum(totals);
      return {totals[0].item<double>() / seen, totals[1].item<double>() / seen};
    };
    for (int64_t b = 0; b < steps_per_epoch; ++b, ++step) {
      const int64_t global = std::min(cfg.batch_size, n - b * cfg.batch_size);
      const auto idx = order.narrow(0, b * cfg.batch_size, global);
      // Every replica draws the whole batch's flips (the generators stay in step), then takes its slice.
      const auto flip = cfg.flip ? at::rand({global}, gen).lt(0.5) : at::Tensor();
      const auto [begin, count] = replica_slice(global, cfg.rank, cfg.replicas);
      auto x = images.index_select(0, idx.narrow(0, begin, count));
      const auto y = labels.index_select(0, idx.narrow(0, begin, count));
      if (cfg.flip) x = at::where(flip.narrow(0, begin, count).view({-1, 1, 1, 1}), x.flip({3}), x);
      const auto logits = graph::run(g, x, exec);
      // Summed over the slice and divided by the global batch: the replicas' sum is the batch mean.
      const auto loss = at::cross_entropy_loss(logits, y, {}, at::Reduction::Sum, -100, cfg.label_smoothing) /
                        static_cast<double>(global);
      for (auto& p : params) p.mutable_grad() = at::Tensor();
      loss.backward();
      if (cfg.replicas > 1) sum_gradients(params, cfg.sum);
      const double lr = learning_rate(cfg, step, total_steps, steps_per_epoch);
      {
        at::NoGradGuard no_grad;
        for (size_t i = 0; i < params.size(); ++i) {
          auto grad = params[i].grad();
          if (!grad.defined()) continue;
          velocity[i].mul_(cfg.momentum).add_(grad).add_(params[i], cfg.weight_decay);
          params[i].sub_(velocity[i], lr);
        }
      }
      loss_sum += loss.item<double>() * static_cast<double>(global);
      correct += logits.argmax(1).eq(y).sum().item<double>();
      seen += static_cast<double>(global);
      if (cfg.on_progress && ((step + 1) % cfg.progress_every == 0 || step + 1 == total_steps)) {
        const auto [mean_loss, mean_accuracy] = epoch_means();
        TrainProgress p;
        p.epoch = epoch + 1;
        p.epochs = cfg.epochs;
        p.step = step + 1;
        p.steps = total_steps;
        p.loss = mean_loss;
        p.accuracy = mean_accuracy;
        p.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        p.eta_s = p.elapsed_s / p.step * (total_steps - p.step);
        p.images_per_s = (epoch * n + seen) / p.elapsed_s;
        cfg.on_progress(p);
      }
    }
    std::tie(report.final_loss, report.final_train_accuracy) = epoch_means();
  }
  if (cfg.replicas > 1) average_buffers(g, cfg.replicas, cfg.sum);
  for (const auto& name : g.params.names()) g.params.at(name) = g.params.at(name).detach();
  report.steps = step;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

}  // namespace qsweep::pipeline
