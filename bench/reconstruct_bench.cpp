// Speed of the reconstruction inner loop (one Adam step of AdaRound/BRECQ/QDrop on one cached batch:
// forward of the unit with soft-rounded weights and quantized activations, loss, backward, updates)
// for ResNet-18's first residual block (layer1.0: 2 convs + add + output quantizer), at the demo size
// (1×32×32, width 0.25) and the ImageNet size (3×224×224, width 1), and peak resident memory
// (VmHWM). Random weights and images: the cost does not depend on their values.
//
//   build/reconstruct_bench [--size demo|full|both] [--iterations 50] [--full-iterations 3]
//                           [--batch 64] [--full-batch 64] [--algorithm qdrop] [--threads 1]
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <fstream>
#include <string>

#include "graph/executor.h"
#include "models/zoo.h"
#include "quant/quantized_model.h"
#include "quant/reconstruct/reconstruct.h"

using namespace qsweep;

namespace {

std::string status_field(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return line.substr(key.size() + 1);
  }
  return "?";
}

struct Case {
  std::string label;
  models::ModelOptions model;
  int64_t side;
  int64_t batch;
  int64_t iterations;
};

void run(const Case& c, const std::string& algorithm, int64_t batches) {
  at::manual_seed(0);
  const auto fp32 = models::build_model("resnet18", c.model);
  quant::reconstruct::ReconstructionConfig rc;
  rc.algorithm = quant::reconstruct::algorithm_from_name(algorithm);
  rc.iterations = c.iterations;
  quant::CalibrationConfig cc;
  cc.w_observer = "mse";
  cc.w_p = 2.4;
  cc.a_observer = "minmax";  // the observer does not change the inner loop; minmax calibrates fastest
  cc.wbit = 2;
  cc.abit = 4;
  if (rc.learns_activation_scales()) cc.a_fake_quant = quant::FakeQuantKind::kDividing;
  auto qm = quant::prepare(fp32, quant::academic_backend(), cc);
  std::vector<at::Tensor> calibration;
  for (int64_t b = 0; b < batches; ++b) calibration.push_back(at::randn({c.batch, c.model.in_channels, c.side, c.side}));
  {
    at::NoGradGuard ng;
    qm.set_mode(quant::Mode::kCalibrateActivations);
    for (const auto& b : calibration) graph::run(qm.graph, b, qm.exec_options());
  }
  qm.calibrate_weights();
  qm.set_mode(quant::Mode::kQuantize);
  const auto fp_graph = qm.graph.clone();
  const auto units = quant::reconstruct::partition(qm.graph, rc.pattern());
  const auto* unit = quant::reconstruct::unit_holding(units, qm.graph, "layer1.0.conv1");
  if (!unit) throw std::runtime_error("no unit holds layer1.0.conv1");
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(rc.seed);
  quant::reconstruct::ForwardCache fp_cache(fp_graph, calibration, at::kCPU);
  quant::reconstruct::ForwardCache q_cache(qm.graph, calibration, at::kCPU);
  const auto r = quant::reconstruct::reconstruct_unit(qm, fp_cache, q_cache, *unit, rc, gen);
  fmt::print("{:<28} batch {:>3}  {:>2} units  cache {:6.2f} s ({:6.1f} MiB)  {:4d} it in {:7.2f} s = {:7.2f} it/s "
             "({:8.1f} ms/it)  VmHWM {}\n",
             c.label + " " + algorithm, c.batch, units.size(), r.cache_seconds, r.cached_bytes / 1048576.0,
             static_cast<int>(c.iterations), r.optimise_seconds, c.iterations / r.optimise_seconds,
             1000.0 * r.optimise_seconds / c.iterations, status_field("VmHWM"));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Reconstruction inner-loop benchmark: iterations/s for ResNet-18's layer1.0 block, and peak memory"};
  std::string size = "both", algorithm = "qdrop";
  int64_t iterations = 50, full_iterations = 3, batch = 64, full_batch = 64, batches = 2;
  int threads = 1;
  app.add_option("--size", size, "demo (1x32x32, width 0.25), full (3x224x224) or both")
      ->check(CLI::IsMember({"demo", "full", "both"}))
      ->capture_default_str();
  app.add_option("--algorithm", algorithm, "adaround (layer unit: conv1+bn1+relu1+quantizer), brecq or qdrop")
      ->check(CLI::IsMember({"adaround", "brecq", "qdrop"}))
      ->capture_default_str();
  app.add_option("--iterations", iterations, "timed iterations at the demo size")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--full-iterations", full_iterations, "timed iterations at 224x224")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--batch", batch, "images per step, demo size")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--full-batch", full_batch, "images per step, 224x224")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--batches", batches, "cached calibration batches")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--threads", threads, "intra-op threads (1 per MPI rank is the measured optimum here)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  at::set_num_threads(threads);
  fmt::print("reconstruct_bench: {} intra-op thread(s), ResNet-18 layer1.0 unit, W2A4 Academic, cache on CPU\n",
             at::get_num_threads());
  if (size != "full") {
    models::ModelOptions demo;
    demo.num_classes = 10;
    demo.in_channels = 1;
    demo.width = 0.25;
    demo.small_input = true;
    run({"demo 1x32x32 w0.25", demo, 32, batch, iterations}, algorithm, batches);
  }
  if (size != "demo") run({"full 3x224x224 w1", models::ModelOptions{}, 224, full_batch, full_iterations}, algorithm, batches);
  return 0;
}
