// Adam written out on ATen (no torch::optim: <torch/torch.h> stays out of the build, as for the
// SGD of pipeline/train.cpp). The update is torch.optim.Adam's (torch 1.8–1.13, amsgrad off, no
// weight decay), which MQBench uses for the rounding variables and the activation scales:
//   m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²
//   p −= lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + ε)
//
//   Adam opt({alpha}, 1e-3);
//   loss.backward();  opt.step();  opt.zero_grad();
//   opt.set_lr(cosine_lr(4e-5, t, T));   // CosineAnnealingLR(T_max = T, eta_min = 0)
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace qsweep::quant::reconstruct {

class Adam {
 public:
  // params: leaf tensors that require grad; updated in place.
  explicit Adam(std::vector<at::Tensor> params, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
                double eps = 1e-8);
  void step();       // parameters without a gradient are skipped, as torch does
  void zero_grad();  // drops the gradients (set_to_none)
  void set_lr(double lr) { lr_ = lr; }
  double lr() const { return lr_; }
  const std::vector<at::Tensor>& params() const { return params_; }

 private:
  std::vector<at::Tensor> params_, exp_avg_, exp_avg_sq_;
  std::vector<int64_t> steps_;
  double lr_, beta1_, beta2_, eps_;
};

// Closed form of CosineAnnealingLR with eta_min = 0 after `step` scheduler steps of `t_max`.
double cosine_lr(double base_lr, int64_t step, int64_t t_max);

}  // namespace qsweep::quant::reconstruct
