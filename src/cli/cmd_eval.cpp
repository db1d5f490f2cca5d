// `qsweep eval`: one PTQ task from the command line, no MPI — the building block of every sweep.
// Prints a summary and, with --json, writes the full result (accuracy, phase times, every
// quantizer's bits, range, scale and zero point; with --deploy-check the integer run and its
// per-layer gaps).
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

#include "cli/commands.h"
#include "pipeline/calibrators.h"
#include "quant/backend.h"
#include "quant/observer.h"
#include "support/error.h"
#include "support/strings.h"
#include "sweep/cell_runner.h"

namespace qsweep::cli {
namespace {

struct EvalArgs {
  std::string model = "resnet18", weights, eval, calibration, json_out;
  sweep::Cell cell;
  models::ModelOptions model_options;
  int calibration_batches = 16, batch_size = 64, eval_batch_size = 100;
  bool deploy_check = false;
};

nlohmann::json to_json(const pipeline::TaskResult& r) {
  nlohmann::json j;
  j["top1"] = r.accuracy.top1_percent();
  j["top5"] = r.accuracy.top5_percent();
  j["top1_count"] = r.accuracy.top1;
  j["top5_count"] = r.accuracy.top5;
  j["total"] = r.accuracy.total;
  j["seconds"] = r.seconds;
  if (r.deploy) {
    const auto& d = *r.deploy;
    auto& k = j["deploy_check"];
    k["engine"] = d.engine;
    k["engine_why"] = d.engine_why;
    k["refused"] = d.refused;
    k["seconds"] = d.seconds;
    if (d.ran()) {
      k["int_top1"] = d.integer.top1_percent();
      k["int_top5"] = d.integer.top5_percent();
      k["int_top1_count"] = d.integer.top1;
      k["agree"] = d.agreement();
      k["agree_count"] = d.agree;
      for (const auto& l : d.layers) {
        k["layers"].push_back({{"node", l.node},
                               {"how", l.how},
                               {"scale", l.scale},
                               {"max_abs_diff", l.max_abs_diff},
                               {"differing", l.differing},
                               {"isolated_max_abs_diff", l.isolated_max_abs_diff},
                               {"isolated_differing", l.isolated_differing}});
      }
    }
  }
  for (const auto& q : r.quantizers) {
    j["quantizers"].push_back({{"name", q.name}, {"is_weight", q.is_weight}, {"bits", q.bits}, {"qmin", q.qmin},
                               {"qmax", q.qmax}, {"min", q.min_val}, {"max", q.max_val}, {"scale", q.scale},
                               {"zero_point", q.zero_point}});
  }
  return j;
}

// The integer run beside the simulated one, and the layers whose integer output differs most.
void print_deploy(const pipeline::DeployResult& d, const pipeline::Accuracy& simulated) {
  if (!d.ran()) {
    fmt::print("deploy check ({}): refused: {}\n", d.engine, d.refused);
    return;
  }
  fmt::print("deploy check ({}: {})\n", d.engine, d.engine_why);
  fmt::print("deploy check ({}): integer top-1 {:.2f}% ({}/{}), simulated {:.2f}%, gap {:+.2f}, agreement {:.2f}% "
             "({:.1f} s)\n",
             d.engine, d.integer.top1_percent(), d.integer.top1, d.integer.total, simulated.top1_percent(),
             d.integer.top1_percent() - simulated.top1_percent(), 100.0 * d.agreement(), d.seconds);
  auto worst = d.layers;
  std::sort(worst.begin(), worst.end(), [](const auto& a, const auto& b) { return a.max_abs_diff > b.max_abs_diff; });
  if (worst.size() > 5) worst.resize(5);
  fmt::print("  largest per-layer gaps on the first 32 images, accumulated | the layer's own (--json has every layer):\n");
  const auto steps = [](double d, double scale) { return scale > 0 ? fmt::format(" ({:.0f} steps)", d / scale) : ""; };
  for (const auto& l : worst) {
    fmt::print("  {:<44} max |int - sim| {:.4g}{}, {:.2f} % differ | {:.4g}{}, {:.2f} % differ\n", l.node,
               l.max_abs_diff, steps(l.max_abs_diff, l.scale), 100 * l.differing, l.isolated_max_abs_diff,
               steps(l.isolated_max_abs_diff, l.scale), 100 * l.isolated_differing);
  }
}

void check_names(const EvalArgs& a) {
  (void)models::model_info(a.model);
  (void)quant::backend(a.cell.backend);
  const bool fp32 = a.cell.w_calib == "none";
  if (fp32 != (a.cell.a_calib == "none") || fp32 != (a.cell.wbit == 32) || fp32 != (a.cell.abit == 32)) {
    throw sweep::SweepError("FP32 needs --w-calib none --a-calib none --wbit 32 --abit 32 together");
  }
  if (!fp32) {
    if (!pipeline::reconstruction_of(a.cell.w_calib) && quant::observer_info(a.cell.w_calib).per_tensor_only) {
      throw sweep::SweepError(fmt::format("--w-calib {}: per-tensor only; weights are quantized per channel", a.cell.w_calib));
    }
    (void)quant::observer_info(a.cell.a_calib);
  }
}

// Every name and combination comes from the command line: an unknown model or a bad pairing is a
// usage error (exit 1), found before any file is read.
void validate(const EvalArgs& a) {
  try {
    check_names(a);
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

void run(EvalArgs a) {
  validate(a);
  sweep::SweepSpec spec;
  spec.name = "eval";
  spec.path = "<command line>";
  spec.data = {a.eval, a.calibration, a.calibration_batches, a.batch_size, a.eval_batch_size};
  spec.models.push_back({a.model, models::model_info(a.model).name, a.weights, a.model_options});
  a.cell.model = a.model;
  if (a.deploy_check) a.cell.options.deploy_check = "int8";
  a.cell.backend = quant::backend(a.cell.backend).name;
  sweep::CellRunner runner(spec, c10::Device(c10::kCPU));
  const auto r = runner.run(a.cell);
  fmt::print("{} {} W:{} A:{} w{}a{}: top-1 {:.2f}% ({}/{}), top-5 {:.2f}%\n", a.model, a.cell.backend, a.cell.w_calib,
             a.cell.a_calib, a.cell.wbit, a.cell.abit, r.accuracy.top1_percent(), r.accuracy.top1, r.accuracy.total,
             r.accuracy.top5_percent());
  for (const auto& [phase, s] : r.seconds) fmt::print("  {:<22} {:8.2f} s\n", phase, s);
  if (r.deploy) print_deploy(*r.deploy, r.accuracy);
  if (!a.json_out.empty()) {
    auto j = to_json(r);
    j["model"] = a.model;
    j["weights"] = a.weights;
    j["weights_sha256"] = runner.weights_sha256(a.model);
    j["data_fingerprint"] = runner.data_fingerprint();
    j["cell"] = {{"backend", a.cell.backend}, {"w_calib", a.cell.w_calib}, {"a_calib", a.cell.a_calib},
                 {"wbit", a.cell.wbit}, {"abit", a.cell.abit}};
    std::ofstream(a.json_out) << j.dump(2) << "\n";
    fmt::print("wrote {}\n", a.json_out);
  }
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  a->cell.backend = "academic";
  a->cell.w_calib = "minmax";
  a->cell.a_calib = "ema_minmax";
  auto* cmd = app.add_subcommand("eval", "Run one PTQ task (calibrate, quantize, evaluate) without MPI");
  auto bits = CLI::Range(2, 8) | CLI::IsMember({32});
  cmd->add_option("--model", a->model, "architecture (see `qsweep inspect-model --help`)")->capture_default_str();
  input_file(cmd->add_option("--weights", a->weights, "checkpoint (.pth/.pth.tar, torchvision/BRECQ/pycls names)")
                 ->required(),
             "a checkpoint");
  input_file(cmd->add_option("--eval", a->eval, "evaluation shard (qsweep prepare … → val.h5)")->required(), "a shard");
  input_file(cmd->add_option("--calibration", a->calibration, "calibration shard (calib.h5)")->required(), "a shard");
  cmd->add_option("--backend", a->cell.backend, "academic | tensorrt")->capture_default_str();
  cmd->add_option("--w-calib", a->cell.w_calib, "weight observer (`qsweep observers`), adaround | brecq | qdrop, or none for FP32")->capture_default_str();
  cmd->add_option("--a-calib", a->cell.a_calib, "activation observer, none for FP32")->capture_default_str();
  cmd->add_option("--wbit", a->cell.wbit, "weight bits (2-8, 32 = FP32)")->check(bits)->capture_default_str();
  cmd->add_option("--abit", a->cell.abit, "activation bits (2-8, 32 = FP32)")->check(bits)->capture_default_str();
  cmd->add_option("--w-p", a->cell.options.w_p, "Lp norm of MSE weight observers")
      ->check(CLI::Range(1.0, 8.0))
      ->capture_default_str();
  cmd->add_option("--a-p", a->cell.options.a_p, "Lp norm of MSE activation observers")
      ->check(CLI::Range(1.0, 8.0))
      ->capture_default_str();
  cmd->add_option("--symmetric-range", a->cell.options.symmetric_range,
                  "TensorRT: true = [-127, 127], false = the published table's [-128, 127]")
      ->capture_default_str();
  cmd->add_option("--iterations", a->cell.options.iterations, "reconstruction iterations per unit")->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{100000000}));
  cmd->add_option("--calibration-batches", a->calibration_batches, "calibration batches")->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--batch-size", a->batch_size, "calibration batch size")->capture_default_str()
      ->check(CLI::Range(1, 65536));
  cmd->add_option("--eval-batch-size", a->eval_batch_size, "evaluation batch size")->capture_default_str()
      ->check(CLI::Range(1, 65536));
  add_model_options(cmd, a->model_options);
  cmd->add_flag("--deploy-check", a->deploy_check,
               "also run the quantized cell in integer arithmetic (LibTorch's onednn/qnnpack kernels) and report\n"
               "its top-1, the agreement with the simulated predictions and the per-layer gaps");
  cmd->add_option("--json", a->json_out, "write the full result here");
  cmd->callback([a] { run(*a); });
}

}  // namespace qsweep::cli
