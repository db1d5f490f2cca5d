// A graph's node values over the calibration batches, computed once in topological order and kept
// only while a consumer still has to run. Reconstruction asks, unit after unit, for each unit's
// inputs (quantized model) and target (FP32 model): every node then runs once per model instead of
// once per unit, which made caching quadratic in depth (MobileNetV2's 53 units re-ran the network
// 106 times).
//
//   ForwardCache q(qm.graph, calibration, at::kCPU);
//   auto inputs = q.values(unit.inputs, qm.exec_options());  // [node][batch]
//   ... rewrite the unit's weights ...
//   q.invalidate(unit.body);   // values downstream of the unit are recomputed on the next ask
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <vector>

#include "graph/executor.h"
#include "graph/graph.h"

namespace qsweep::quant::reconstruct {

class ForwardCache {
 public:
  // `g` and `batches` must outlive the cache; values are stored on `device`.
  ForwardCache(const graph::Graph& g, const std::vector<at::Tensor>& batches, at::Device device);

  // Values of `wanted` for every batch ([node][batch]), without autograd. Runs only the nodes whose
  // values are not kept, with `options` (the same options for every call on one cache: it does not
  // know which values an option change would alter — invalidate() those).
  std::vector<std::vector<at::Tensor>> values(const std::vector<int>& wanted, const graph::ExecOptions& options);

  // Forgets the values of `changed` and of everything downstream of them (their weights or
  // quantizers were just rewritten).
  void invalidate(const std::vector<int>& changed);

  int64_t kept_bytes() const;
  int64_t nodes_run() const { return nodes_run_; }  // node evaluations so far, one per node per batch set

 private:
  void drop_finished();

  const graph::Graph& g_;
  const std::vector<at::Tensor>& batches_;
  at::Device device_;
  int input_ = -1;
  std::vector<std::vector<int>> consumers_;
  std::vector<bool> computed_;                     // ran with the current weights (value may be dropped)
  std::map<int, std::vector<at::Tensor>> kept_;  // node -> value per batch
  int64_t nodes_run_ = 0;
};

}  // namespace qsweep::quant::reconstruct
