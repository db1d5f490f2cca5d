// SGD written out on ATen autograd (no torch::optim, to keep <torch/torch.h> out of the build):
// v = μ·v + (g + λ·w); w −= lr_t·v with lr_t = lr·(1 + cos(π·t/T))/2 — torch.optim.SGD's update.
#include "pipeline/train.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>

#include "graph/executor.h"
#include "pipeline/task.h"

namespace qsweep::pipeline {

TrainReport train(graph::Graph& g, const at::Tensor& images, const at::Tensor& labels, const TrainConfig& cfg) {
  if (images.size(0) != labels.size(0) || images.size(0) == 0) {
    throw TaskError(fmt::format("train: {} images but {} labels", images.size(0), labels.size(0)));
  }
  if (cfg.epochs < 1 || cfg.batch_size < 1) throw TaskError("train: epochs and batch_size must be positive");
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
    for (int64_t b = 0; b < steps_per_epoch; ++b, ++step) {
      const auto idx = order.narrow(0, b * cfg.batch_size, std::min(cfg.batch_size, n - b * cfg.batch_size));
      auto x = images.index_select(0, idx);
      const auto y = labels.index_select(0, idx);
      if (cfg.flip) {
        const auto mask = at::rand({x.size(0)}, gen).lt(0.5).view({-1, 1, 1, 1});
        x = at::where(mask, x.flip({3}), x);
      }
      const auto logits = graph::run(g, x, exec);
      const auto loss = at::cross_entropy_loss(logits, y, {}, at::Reduction::Mean, -100, cfg.label_smoothing);
      for (auto& p : params) p.mutable_grad() = at::Tensor();
      loss.backward();
      const double lr = 0.5 * cfg.lr * (1.0 + std::cos(M_PI * static_cast<double>(step) / total_steps));
      {
        at::NoGradGuard no_grad;
        for (size_t i = 0; i < params.size(); ++i) {
          auto grad = params[i].grad();
          if (!grad.defined()) continue;
          velocity[i].mul_(cfg.momentum).add_(grad).add_(params[i], cfg.weight_decay);
          params[i].sub_(velocity[i], lr);
        }
      }
      loss_sum += loss.item<double>() * x.size(0);
      correct += logits.argmax(1).eq(y).sum().item<double>();
      seen += x.size(0);
      if (cfg.on_progress && ((step + 1) % cfg.progress_every == 0 || step + 1 == total_steps)) {
        TrainProgress p;
        p.epoch = epoch + 1;
        p.epochs = cfg.epochs;
        p.step = step + 1;
        p.steps = total_steps;
        p.loss = loss_sum / seen;
        p.accuracy = correct / seen;
        p.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        p.eta_s = p.elapsed_s / p.step * (total_steps - p.step);
        p.images_per_s = (epoch * n + seen) / p.elapsed_s;
        cfg.on_progress(p);
      }
    }
    report.final_loss = loss_sum / seen;
    report.final_train_accuracy = correct / seen;
  }
  for (const auto& name : g.params.names()) g.params.at(name) = g.params.at(name).detach();
  report.steps = step;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

}  // namespace qsweep::pipeline
