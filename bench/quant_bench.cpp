// Cost of the quantization core on one activation-sized tensor ([64, 64, 56, 56] float32 by
// default), printed as ratios to one pass of ATen's fake_quantize_per_tensor_affine measured in the
// same run. Run with the allocator setting of the README (GLIBC_TUNABLES) for meaningful numbers.
//
//   build/quant_bench [--shape 64,64,56,56] [--threads 1] [--reps 5]
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <functional>

#include "quant/fake_quant.h"
#include "quant/observer.h"
#include "quant/observers/mse_search.h"

using namespace qsweep::quant;

namespace {

double median_ms(int reps, const std::function<void()>& fn) {
  fn();  // warm-up
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Quantization-core benchmark: observer updates and fake-quant as ratios to ATen's fake-quant"};
  std::vector<int64_t> shape = {64, 64, 56, 56};
  int threads = 1, reps = 5;
  bool reference_mse = true;
  app.add_option("--shape", shape, "activation shape")->delimiter(',')->capture_default_str();
  app.add_option("--threads", threads, "intra-op threads (1 per MPI rank is the measured optimum here)")
      ->capture_default_str();
  app.add_option("--reps", reps, "timed repetitions (median reported)")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_flag("!--no-reference-mse", reference_mse, "skip timing MQBench's per-candidate MSE loop (slow)");
  CLI11_PARSE(app, argc, argv);
  at::set_num_threads(threads);
  at::manual_seed(0);
  at::NoGradGuard no_grad;

  const auto x = at::relu(at::randn(shape)) * 2;  // post-ReLU activation
  const QScheme s{8, false};
  const auto qp = compute_qparams(at::scalar_tensor(0.0f), at::scalar_tensor(5.0f), s);
  const ScalarQParams sq{qp.scale.item<float>(), qp.zero_point.item<int>()};
  auto out = at::empty_like(x);

  const double aten = median_ms(reps, [&] { (void)fake_quantize_aten(x, qp, s.range(), -1); });
  fmt::print("tensor {} ({:.1f} M elements), {} thread(s), median of {} runs\n", c10::str(x.sizes()),
             x.numel() / 1e6, threads, reps);
  fmt::print("{:<44} {:>10} {:>10}\n", "operation", "ms", "x ATen fq");
  auto row = [&](const std::string& name, double ms) { fmt::print("{:<44} {:>10.2f} {:>10.3f}\n", name, ms, ms / aten); };
  row("ATen fake_quantize_per_tensor_affine", aten);
  row("qsweep fake_quantize (fused, allocating)", median_ms(reps, [&] { (void)fake_quantize(x, sq, s.range()); }));
  row("qsweep fake_quantize_into (fused, no alloc)",
      median_ms(reps, [&] { fake_quantize_into(x, sq, s.range(), out); }));
  row("composite clamp(round(x*inv)+zp)-zp)*s", median_ms(reps, [&] {
        (void)((at::clamp(at::round(x * (1.0f / sq.scale)) + sq.zero_point, 0, 255) - sq.zero_point) * sq.scale);
      }));
  row("relu (memory-bound reference)", median_ms(reps, [&] { (void)at::relu(x); }));
  for (const auto& info : observer_registry()) {
    ObserverOptions o;
    o.scheme = s;
    auto obs = info.make(o);
    const int r = info.name.find("mse") != std::string::npos ? std::max(1, reps / 2) : reps;
    row("observe: " + info.name, median_ms(r, [&] { obs->observe(x); }));
  }
  if (reference_mse) {
    auto [lo, hi] = at::aminmax(x);
    const double ref = median_ms(1, [&] {
      (void)mse_search_reference(x, lo.item<float>(), hi.item<float>(), kMseStepsPerTensor, 2.0, s);
    });
    const double fast = median_ms(reps, [&] {
      (void)mse_search(x, lo.item<float>(), hi.item<float>(), kMseStepsPerTensor, 2.0, s);
    });
    const double fast_lp = median_ms(reps, [&] {
      (void)mse_search(x, lo.item<float>(), hi.item<float>(), kMseStepsPerTensor, 2.4, s);
    });
    row("MSE search, MQBench per-candidate loop (95)", ref);
    row("MSE search, qsweep blocked + tie re-check", fast);
    row("MSE search p 2.4 (AdaRound's EMAMSE), qsweep", fast_lp);
    fmt::print("MSE search speed-up over the per-candidate loop: {:.1f}x\n", ref / fast);
    fmt::print("MSE search cost of p 2.4 over p 2: {:.1f}x\n", fast_lp / fast);
  }
  return 0;
}
