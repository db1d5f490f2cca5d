#include "quant/reconstruct/forward_cache.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "graph/topology.h"
#include "quant/qscheme.h"

namespace qsweep::quant::reconstruct {

ForwardCache::ForwardCache(const graph::Graph& g, const std::vector<at::Tensor>& batches, at::Device device)
    : g_(g), batches_(batches), device_(device), consumers_(graph::consumers(g)), computed_(g.nodes.size(), false) {
  for (const auto& n : g.nodes) {
    if (n.op == graph::Op::kInput) {
      if (input_ >= 0) throw QuantError(fmt::format("graph '{}' has more than one input", g.name));
      input_ = n.id;
    }
  }
  if (input_ < 0) throw QuantError(fmt::format("graph '{}' has no input node", g.name));
  computed_[input_] = true;
}

std::vector<std::vector<at::Tensor>> ForwardCache::values(const std::vector<int>& wanted,
                                                          const graph::ExecOptions& options) {
  at::NoGradGuard no_grad;
  // The nodes to run: ancestors of `wanted` back to kept values (or the input, always at hand).
  std::vector<bool> run(g_.nodes.size(), false);
  std::vector<int> stack;
  for (int w : wanted) {
    if (w != input_ && !kept_.count(w)) stack.push_back(w);
  }
  while (!stack.empty()) {
    const int n = stack.back();
    stack.pop_back();
    if (run[n]) continue;
    run[n] = true;
    for (int in : g_.node(n).inputs) {
      if (in != input_ && !kept_.count(in)) stack.push_back(in);
    }
  }
  std::vector<int> nodes;
  for (const auto& n : g_.nodes) {
    if (run[n.id]) nodes.push_back(n.id);
  }
  // Outputs of this run: what was asked, and every value a node that has not run yet will read.
  std::vector<int> keep;
  for (int n : nodes) {
    const bool asked = std::find(wanted.begin(), wanted.end(), n) != wanted.end();
    const bool read_later = std::any_of(consumers_[n].begin(), consumers_[n].end(),
                                        [&](int c) { return !run[c] && !computed_[c]; });
    if (asked || read_later) keep.push_back(n);
  }
  if (!nodes.empty()) {
    std::vector<int> boundary;  // kept values the run reads
    for (int n : nodes) {
      for (int in : g_.node(n).inputs) {
        if (!run[in] && in != input_) boundary.push_back(in);
      }
    }
    for (int k : keep) kept_[k].reserve(batches_.size());
    for (size_t b = 0; b < batches_.size(); ++b) {
      const auto& x = batches_[b];
      std::unordered_map<int, at::Tensor> external{{input_, x}};
      for (int in : boundary) external[in] = kept_.at(in)[b].to(x.device());
      const auto out = graph::run_nodes(g_, nodes, external, keep, options);
      for (size_t i = 0; i < keep.size(); ++i) kept_[keep[i]].push_back(out[i].to(device_).contiguous());
    }
    for (int n : nodes) computed_[n] = true;
    nodes_run_ += static_cast<int64_t>(nodes.size());
  }
  std::vector<std::vector<at::Tensor>> result;
  for (int w : wanted) {
    if (w == input_) {
      std::vector<at::Tensor> v;
      for (const auto& x : batches_) v.push_back(x.to(device_));
      result.push_back(std::move(v));
    } else {
      result.push_back(kept_.at(w));
    }
  }
  drop_finished();
  return result;
}

void ForwardCache::invalidate(const std::vector<int>& changed) {
  std::vector<int> stack(changed.begin(), changed.end());
  std::vector<bool> seen(g_.nodes.size(), false);
  while (!stack.empty()) {
    const int n = stack.back();
    stack.pop_back();
    if (seen[n]) continue;
    seen[n] = true;
    if (n == input_) continue;
    computed_[n] = false;
    kept_.erase(n);
    for (int c : consumers_[n]) stack.push_back(c);
  }
}

// A value is dropped once every consumer has run; graph outputs have none and go at once (a later
// ask recomputes them).
void ForwardCache::drop_finished() {
  for (auto it = kept_.begin(); it != kept_.end();) {
    const auto& cs = consumers_[it->first];
    const bool done = std::all_of(cs.begin(), cs.end(), [&](int c) { return computed_[c]; });
    it = done ? kept_.erase(it) : std::next(it);
  }
}

int64_t ForwardCache::kept_bytes() const {
  int64_t n = 0;
  for (const auto& [id, v] : kept_) {
    for (const auto& t : v) n += t.numel() * static_cast<int64_t>(t.element_size());
  }
  return n;
}

}  // namespace qsweep::quant::reconstruct
