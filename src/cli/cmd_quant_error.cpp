// `qsweep quant-error`: calibrates every observer on real images (Fashion-MNIST from Debian's
// dataset-fashion-mnist) the way the PTQ pipeline calibrates an activation quantizer — fixed
// batches in order — then fake-quantizes the whole test split and reports range, qparams and
// SQNR per bit width. A direct look at how the calibrators differ, with no model involved.
#include <ATen/ATen.h>
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cmath>

#include "cli/commands.h"
#include "data/data_error.h"
#include "data/sources/idx_file.h"
#include "quant/fake_quant.h"
#include "quant/observer.h"

namespace qsweep::cli {
namespace {

struct QuantErrorArgs {
  std::string root = "/usr/share/datasets/fashion-mnist";
  std::vector<std::string> observers;
  std::vector<int> bits = {2, 4, 8};
  int batches = 16;
  int batch_size = 64;
  bool symmetric = false;
};

at::Tensor load_normalised_test_images(const std::string& root) {
  const auto idx = data::read_idx(root + "/t10k-images-idx3-ubyte.gz");
  if (idx.dims.size() != 3) throw data::DataError(root + ": test images are not a 3-d idx array");
  auto u8 = at::from_blob(const_cast<uint8_t*>(idx.data.data()), {idx.dims[0], 1, idx.dims[1], idx.dims[2]}, at::kByte);
  // Fashion-MNIST's usual normalisation constants (mean 0.2860, std 0.3530 of the train pixels).
  return (u8.to(at::kFloat) / 255.0 - 0.2860) / 0.3530;
}

void run(const QuantErrorArgs& a) {
  const auto images = load_normalised_test_images(a.root);
  const int64_t calib = int64_t{a.batches} * a.batch_size;
  if (calib > images.size(0)) throw quant::QuantError(fmt::format("{} calibration images requested, {} available", calib, images.size(0)));
  std::vector<std::string> names = a.observers;
  if (names.empty()) {
    for (const auto& o : quant::observer_registry()) names.push_back(o.name);
  }
  for (const auto& n : names) (void)quant::observer_info(n);  // reject unknown names before any work
  const double signal = images.pow(2).sum().item<double>();
  fmt::print("Fashion-MNIST test split: {} images; calibration: {} batches x {} (first {} images, in order)\n",
             images.size(0), a.batches, a.batch_size, calib);
  fmt::print("{:<20} {:>4} {:>10} {:>10} {:>11} {:>5} {:>9} {:>10}\n", "observer", "bits", "min", "max", "scale", "zp",
             "SQNR dB", "calib ms");
  for (const auto& name : names) {
    for (int bits : a.bits) {
      quant::ObserverOptions opt;
      opt.scheme.bits = bits;
      opt.scheme.symmetric = a.symmetric;
      auto obs = quant::make_observer(name, opt);
      const auto t0 = std::chrono::steady_clock::now();
      for (int b = 0; b < a.batches; ++b) obs->observe(images.narrow(0, int64_t{b} * a.batch_size, a.batch_size));
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      const auto qp = obs->qparams();
      const auto xq = quant::fake_quantize(images, qp, opt.scheme.range(), -1);
      const double noise = (xq - images).pow(2).sum().item<double>();
      fmt::print("{:<20} {:>4} {:>10.5f} {:>10.5f} {:>11.7f} {:>5} {:>9.2f} {:>10.1f}\n", name, bits,
                 obs->min_val().item<float>(), obs->max_val().item<float>(), qp.scale.item<float>(),
                 qp.zero_point.item<int>(), 10.0 * std::log10(signal / noise), ms);
    }
  }
}

}  // namespace

void add_quant_error_command(CLI::App& app) {
  auto args = std::make_shared<QuantErrorArgs>();
  auto* cmd = app.add_subcommand(
      "quant-error",
      "Calibrate each observer on Fashion-MNIST images and report range, scale, zero point and SQNR per bit width");
  input_folder(cmd->add_option("--root", args->root, "folder with Debian's dataset-fashion-mnist idx .gz files"),
               "the Fashion-MNIST idx folder")
      ->capture_default_str();
  cmd->add_option("--observers", args->observers, "observer names, comma-separated (default: all; see `qsweep observers`)")->delimiter(',');
  cmd->add_option("--bits", args->bits, "bit widths to report (comma-separated)")
      ->delimiter(',')
      ->check(CLI::Range(2, 8))
      ->capture_default_str();
  cmd->add_option("--batches", args->batches, "calibration batches")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--batch-size", args->batch_size, "images per calibration batch")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_flag("--symmetric", args->symmetric, "signed symmetric range instead of asymmetric unsigned");
  cmd->callback([args] { run(*args); });
}

}  // namespace qsweep::cli
