// Quantized evaluation time / FP32 evaluation time for the same model in one run (issue 5's
// target: ≤ 1.15 on CPU), and one full naive-PTQ task split by phase. Synthetic data of the
// model's input size, so it needs no dataset; run with the allocator setting of scripts/env.sh.
//
//   build/eval_bench [--model resnet18] [--width 1] [--size 224] [--images 256] [--batch 32]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>

#include "graph/executor.h"
#include "models/zoo.h"
#include "pipeline/task.h"
#include "quant/quantized_model.h"

using namespace qsweep;

int main(int argc, char** argv) {
  CLI::App app{"Quantized vs FP32 evaluation time, and a PTQ task's phases"};
  std::string model = "resnet18";
  models::ModelOptions mo;
  int64_t size = 224, images = 256, batch = 32;
  int threads = 1, reps = 3;
  app.add_option("--model", model, "architecture")->capture_default_str();
  app.add_option("--width", mo.width, "channel multiplier")->capture_default_str();
  app.add_option("--size", size, "input height/width")->capture_default_str();
  app.add_option("--images", images, "evaluation images")->capture_default_str();
  app.add_option("--batch", batch, "batch size")->capture_default_str();
  app.add_option("--threads", threads, "intra-op threads")->capture_default_str();
  app.add_option("--reps", reps, "timed repetitions (best reported)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  at::set_num_threads(threads);
  at::manual_seed(0);
  if (size <= 64) mo.small_input = true;
  auto g = models::build_model(model, mo);
  const auto x = at::randn({images, 3, size, size});
  const auto y = at::randint(0, mo.num_classes, {images}, at::kLong);
  std::vector<at::Tensor> calib;
  for (int b = 0; b < 4; ++b) calib.push_back(at::randn({batch, 3, size, size}));
  pipeline::TensorTaskData data(calib, x, y, batch, "synthetic");

  auto best_of = [&](const std::function<void()>& fn) {
    double best = 1e30;
    for (int r = 0; r < reps; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      fn();
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
  };
  fmt::print("{} width {} at {}x{}, {} images, batch {}, {} thread(s), best of {}\n", model, mo.width, size, size, images,
             batch, threads, reps);
  const double fp32 = best_of([&] { pipeline::evaluate(g, {}, data); });
  fmt::print("{:<34} {:8.3f} s  {:7.1f} img/s  ratio 1.000\n", "FP32 evaluation", fp32, images / fp32);
  for (const char* b : {"academic", "tensorrt"}) {
    quant::CalibrationConfig c;
    auto qm = quant::prepare(g, quant::backend(b), c);
    {
      at::NoGradGuard ng;
      qm.set_mode(quant::Mode::kCalibrateActivations);
      for (const auto& cb : calib) graph::run(qm.graph, cb, qm.exec_options());
      qm.calibrate_weights();
      qm.set_mode(quant::Mode::kQuantize);
    }
    const double q = best_of([&] { pipeline::evaluate(qm.graph, qm.exec_options(), data); });
    fmt::print("{:<34} {:8.3f} s  {:7.1f} img/s  ratio {:.3f}\n", fmt::format("W8A8 {} evaluation", b), q, images / q,
               q / fp32);
  }
  pipeline::TaskSpec spec;
  spec.calib.w_observer = "mse";
  spec.calib.a_observer = "ema_mse";
  spec.calib.wbit = 4;
  const auto r = pipeline::run_task(g, spec, data);
  fmt::print("one W4A8 MSE/EMAMSE academic task ({} calibration batches of {}):\n", calib.size(), batch);
  for (const auto& [phase, s] : r.seconds) fmt::print("  {:<24} {:8.3f} s\n", phase, s);
  return 0;
}
