// The GPU figures of the table's work, each as seconds or a ratio measured in this one run
// (docs/gpu.md; no test asserts any of them):
//   1. evaluation img/s, FP32 and W8A8 quantized (Academic, TensorRT), and quantized ÷ FP32, per
//      model at 224², batch 256 (goals: ≥ 0.85 Academic, ≥ 0.80 TensorRT);
//   2. MSE weights + EMAMSE activations calibration of 1024 images (16 × 64) on resnet50 (goal ≤ 2 s);
//   3. AdaRound iterations per second on resnet50's layer1.0.conv1 unit;
//   4. img/s of the input path alone: a uint8 shard through BatchReader (normalisation) to the device.
// Random weights and images: the cost does not depend on their values. It runs on the CPU too
// (--device cpu, small sizes: what tools/gpu_check.sh --dry-run does to check every path).
//
//   build-cuda/gpu_bench [--device cuda] [--models resnet18,resnet50,mobilenetv2_1.0] [--size 224]
//                        [--batch 256] [--eval-batches 8] [--calib-batches 16] [--calib-batch 64]
//                        [--adaround-iterations 200] [--shard-images 2048]
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <ATen/core/grad_mode.h>
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include "data/shard/batch_reader.h"
#include "data/shard/shard.h"
#include "graph/executor.h"
#include "models/zoo.h"
#include "quant/quantized_model.h"
#include "quant/reconstruct/forward_cache.h"
#include "quant/reconstruct/partition.h"
#include "quant/reconstruct/reconstruct.h"

using namespace qsweep;

namespace {

using Clock = std::chrono::steady_clock;

// Waits for the device's queued work: a host read of a value the last kernel wrote.
void sync(const at::Tensor& t) {
  if (t.defined()) (void)t.sum().item<double>();
}

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Options {
  std::string device = "cuda";
  std::vector<std::string> models = {"resnet18", "resnet50", "mobilenetv2_1.0"};
  int64_t size = 224, batch = 256, eval_batches = 8, calib_batches = 16, calib_batch = 64;
  int64_t adaround_iterations = 200, shard_images = 2048;
};

// Calibrated W8A8 (MinMax weights, EMAMinMax activations) on `calib`.
quant::QuantizedModel calibrated(const graph::Graph& g, const std::string& backend, const std::vector<at::Tensor>& calib,
                                 quant::CalibrationConfig c) {
  auto qm = quant::prepare(g, quant::backend(backend), c);
  at::NoGradGuard ng;
  qm.set_mode(quant::Mode::kCalibrateActivations);
  for (const auto& b : calib) graph::run(qm.graph, b, qm.exec_options());
  qm.calibrate_weights();
  qm.set_mode(quant::Mode::kQuantize);
  return qm;
}

double images_per_second(const graph::Graph& g, const graph::ExecOptions& o, const at::Tensor& x, int64_t batches) {
  at::NoGradGuard ng;
  sync(graph::run(g, x, o));  // warm-up: cuDNN picks its algorithms, the allocator fills
  const auto t0 = Clock::now();
  at::Tensor y;
  for (int64_t b = 0; b < batches; ++b) y = graph::run(g, x, o);
  sync(y);
  return static_cast<double>(batches * x.size(0)) / since(t0);
}

void eval_throughput(const Options& opt, const c10::Device& dev) {
  fmt::print("\n1. evaluation at {0}x{0}, batch {1}, {2} timed batches (img/s; ratio = quantized / FP32)\n", opt.size,
             opt.batch, opt.eval_batches);
  fmt::print("{:<18} {:>10} {:>14} {:>7} {:>14} {:>7}\n", "model", "FP32", "Academic W8A8", "ratio", "TensorRT W8A8",
             "ratio");
  const auto x = at::randn({opt.batch, 3, opt.size, opt.size}).to(dev);
  for (const auto& name : opt.models) {
    auto g = models::build_model(name, {});
    g.to(dev);
    const std::vector<at::Tensor> calib = {x.narrow(0, 0, std::min<int64_t>(64, opt.batch))};
    const double fp32 = images_per_second(g, {}, x, opt.eval_batches);
    std::vector<double> q;
    for (const char* b : {"academic", "tensorrt"}) {
      auto qm = calibrated(g, b, calib, {});
      q.push_back(images_per_second(qm.graph, qm.exec_options(), x, opt.eval_batches));
    }
    fmt::print("{:<18} {:>10.1f} {:>14.1f} {:>7.3f} {:>14.1f} {:>7.3f}\n", name, fp32, q[0], q[0] / fp32, q[1],
               q[1] / fp32);
  }
}

void mse_calibration(const Options& opt, const c10::Device& dev) {
  auto g = models::build_model("resnet50", {});
  g.to(dev);
  std::vector<at::Tensor> calib;
  for (int64_t b = 0; b < opt.calib_batches; ++b) calib.push_back(at::randn({opt.calib_batch, 3, opt.size, opt.size}).to(dev));
  fmt::print("\n2. resnet50 calibration of {} images ({} x {}) at {}x{}, W4A8 Academic\n", opt.calib_batches * opt.calib_batch,
             opt.calib_batches, opt.calib_batch, opt.size, opt.size);
  for (double p : {2.0, 2.4}) {
    quant::CalibrationConfig c;
    c.w_observer = "mse";
    c.a_observer = "ema_mse";
    c.wbit = 4;
    c.w_p = c.a_p = p;
    auto qm = quant::prepare(g, quant::academic_backend(), c);
    at::NoGradGuard ng;
    sync(calib.front());
    const auto t0 = Clock::now();
    qm.set_mode(quant::Mode::kCalibrateActivations);
    at::Tensor y;
    for (const auto& b : calib) y = graph::run(qm.graph, b, qm.exec_options());
    sync(y);
    const double acts = since(t0);
    const auto t1 = Clock::now();
    qm.calibrate_weights();
    qm.set_mode(quant::Mode::kQuantize);
    sync(graph::run(qm.graph, calib.front().narrow(0, 0, 1), qm.exec_options()));
    const double weights = since(t1);
    fmt::print("   p = {:.1f}: EMAMSE activations {:7.3f} s + MSE weights {:7.3f} s = {:7.3f} s\n", p, acts, weights,
               acts + weights);
  }
}

void adaround_speed(const Options& opt, const c10::Device& dev) {
  auto g = models::build_model("resnet50", {});
  g.to(dev);
  quant::CalibrationConfig cc;
  cc.w_observer = "mse";
  cc.a_observer = "minmax";
  cc.wbit = 4;
  cc.abit = 8;
  std::vector<at::Tensor> calib;
  for (int64_t b = 0; b < 2; ++b) calib.push_back(at::randn({opt.calib_batch, 3, opt.size, opt.size}).to(dev));
  auto qm = calibrated(g, "academic", calib, cc);
  quant::reconstruct::ReconstructionConfig rc;
  rc.algorithm = quant::reconstruct::Algorithm::kAdaRound;
  rc.iterations = opt.adaround_iterations;
  rc.cache_device = dev.str();
  const auto fp_graph = qm.graph.clone();
  const auto units = quant::reconstruct::partition(qm.graph, rc.pattern());
  const auto* unit = quant::reconstruct::unit_holding(units, qm.graph, "layer1.0.conv1");
  if (!unit) throw std::runtime_error("gpu_bench: no AdaRound unit holds layer1.0.conv1");
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(rc.seed);
  quant::reconstruct::ForwardCache fp_cache(fp_graph, calib, dev);
  quant::reconstruct::ForwardCache q_cache(qm.graph, calib, dev);
  const auto r = quant::reconstruct::reconstruct_unit(qm, fp_cache, q_cache, *unit, rc, gen);
  fmt::print("\n3. AdaRound on resnet50 layer1.0.conv1 (batch {}, {} iterations): {:.1f} it/s ({:.2f} ms/it)\n",
             rc.batch_size ? rc.batch_size : opt.calib_batch, opt.adaround_iterations, opt.adaround_iterations / r.optimise_seconds,
             1000.0 * r.optimise_seconds / opt.adaround_iterations);
}

void input_path(const Options& opt, const c10::Device& dev) {
  namespace fs = std::filesystem;
  const auto path = (fs::temp_directory_path() / fmt::format("qsweep-gpu-bench-{}.h5", ::getpid())).string();
  data::ShardInfo info;
  info.path = path;
  info.split = "val";
  info.source = "synthetic";
  info.transform = "none";
  info.channels = 3;
  info.height = info.width = opt.size;
  info.mean = {0.485f, 0.456f, 0.406f};
  info.std = {0.229f, 0.224f, 0.225f};
  for (int c = 0; c < 1000; ++c) info.class_names.push_back(fmt::format("c{}", c));
  {
    data::ShardWriter w(info);
    const auto images = at::randint(0, 256, {opt.shard_images, 3, opt.size, opt.size}, at::kByte);
    const auto labels = at::randint(0, 1000, {opt.shard_images}, at::kLong);
    w.append(images.data_ptr<uint8_t>(), labels.data_ptr<int64_t>(), opt.shard_images);
    w.finish();
  }
  data::BatchReader reader(data::Shard::open(path), opt.batch);
  at::Tensor last;
  const auto t0 = Clock::now();
  int64_t n = 0;
  while (const auto* b = reader.next()) {
    last = b->images.to(dev);
    n += b->images.size(0);
  }
  sync(last);
  const double s = since(t0);
  fs::remove(path);
  fmt::print("\n4. input path alone (mapped uint8 shard -> normalised float batch -> {}): {:.1f} img/s ({} images)\n",
             dev.str(), n / s, n);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"GPU benchmark of the table's work: eval img/s and quantized/FP32 ratios, MSE calibration seconds, "
               "AdaRound it/s, input-path img/s (docs/gpu.md)"};
  Options opt;
  std::string models_csv = "resnet18,resnet50,mobilenetv2_1.0";
  app.add_option("--device", opt.device, "cuda (cuda:0) or cpu (small sizes: checks the paths)")->capture_default_str();
  app.add_option("--models", models_csv, "comma-separated zoo names for the evaluation figures")->capture_default_str();
  app.add_option("--size", opt.size, "input height and width")->check(CLI::Range(32, 1024))->capture_default_str();
  app.add_option("--batch", opt.batch, "evaluation (and input-path) batch")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--eval-batches", opt.eval_batches, "timed evaluation batches per model and backend")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--calib-batches", opt.calib_batches, "calibration batches")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--calib-batch", opt.calib_batch, "images per calibration batch")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--adaround-iterations", opt.adaround_iterations, "timed AdaRound iterations")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--shard-images", opt.shard_images, "images in the input path's temporary shard")
      ->check(CLI::PositiveNumber)->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  opt.models = CLI::detail::split(models_csv, ',');
  const c10::Device dev(opt.device);
  if (dev.is_cuda() && !at::hasCUDA()) {
    std::fprintf(stderr, "gpu_bench: --device %s but this LibTorch has no CUDA or sees no GPU\n", opt.device.c_str());
    return 2;
  }
  at::globalContext().setBenchmarkCuDNN(true);
  at::manual_seed(0);
  fmt::print("gpu_bench on {} (cuDNN benchmark mode on, TF32 as LibTorch defaults)\n", dev.str());
  eval_throughput(opt, dev);
  mse_calibration(opt, dev);
  adaround_speed(opt, dev);
  input_path(opt, dev);
  return 0;
}
