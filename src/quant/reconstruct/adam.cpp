// torch/optim/_functional.py adam(), single-tensor path, in the same operation order.
#include "quant/reconstruct/adam.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>

namespace qsweep::quant::reconstruct {

Adam::Adam(std::vector<at::Tensor> params, double lr, double beta1, double beta2, double eps)
    : params_(std::move(params)), lr_(lr), beta1_(beta1), beta2_(beta2), eps_(eps) {
  for (const auto& p : params_) {
    exp_avg_.push_back(at::zeros_like(p, p.options().requires_grad(false)));
    exp_avg_sq_.push_back(at::zeros_like(p, p.options().requires_grad(false)));
    steps_.push_back(0);
  }
}

void Adam::step() {
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& g = params_[i].grad();
    if (!g.defined()) continue;
    const int64_t t = ++steps_[i];
    const double bias1 = 1.0 - std::pow(beta1_, static_cast<double>(t));
    const double bias2 = 1.0 - std::pow(beta2_, static_cast<double>(t));
    exp_avg_[i].mul_(beta1_).add_(g, 1.0 - beta1_);
    exp_avg_sq_[i].mul_(beta2_).addcmul_(g, g, 1.0 - beta2_);
    const auto denom = (exp_avg_sq_[i].sqrt() / std::sqrt(bias2)).add_(eps_);
    params_[i].addcdiv_(exp_avg_[i], denom, -lr_ / bias1);
  }
}

void Adam::zero_grad() {
  for (auto& p : params_) p.mutable_grad() = at::Tensor();
}

double cosine_lr(double base_lr, int64_t step, int64_t t_max) {
  return base_lr * (1.0 + std::cos(M_PI * static_cast<double>(step) / static_cast<double>(t_max))) / 2.0;
}

}  // namespace qsweep::quant::reconstruct
