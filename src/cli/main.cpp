// qsweep: post-training-quantization sweeps. `qsweep --help` lists the subcommands; each has
// its own --help. Exit codes: 0 success, 1 usage error (CLI11's own codes, 105-109, are mapped to
// 1 so scripts see the documented value), 2 bad input or failed work, 3 a sweep or comparison that
// ran but found failed tasks or differences.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "support/error.h"
#include "support/strings.h"
#include "support/version.h"

namespace {

// One write per message: under mpirun every rank's stderr reaches one terminal, and a message
// written in pieces interleaves with another rank's ("qsweep: error: qsweep: error: rank 1: …").
void print_error(const char* prefix, const char* what) {
  const std::string line = std::string(prefix) + what + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "qsweep — distributed post-training-quantization benchmarks of image classifiers.\n"
      "Reproduces the MQBench ImageNet PTQ table (MinMax/MSE/AdaRound weights, EMAMinMax/EMAQuantile/EMAMSE\n"
      "activations, Academic and TensorRT backends) on LibTorch, on one machine or a cluster.",
      "qsweep"};
  app.require_subcommand(1);
  app.set_version_flag("--version", [] { return qsweep::version_line(); }, "Print the qsweep version, git commit and LibTorch build, then exit");
  qsweep::cli::add_version_command(app);
  qsweep::cli::add_observers_command(app);
  qsweep::cli::add_quant_error_command(app);
  qsweep::cli::add_inspect_model_command(app);
  qsweep::cli::add_eval_command(app);
  qsweep::cli::add_sweep_commands(app);
  qsweep::cli::add_render_command(app);
  qsweep::cli::add_prepare_command(app);
  qsweep::cli::add_train_command(app);
  qsweep::cli::add_export_command(app);
  qsweep::cli::add_show_command(app);
  qsweep::cli::add_compare_command(app);
  qsweep::cli::add_plot_command(app);
  // CLI11 answers an unknown subcommand with "A subcommand is required"; name it, and the nearest
  // known one, as the sweep-file reader does for keys.
  if (argc > 1 && argv[1][0] != '-') {
    std::vector<std::string> names;
    for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
    if (std::find(names.begin(), names.end(), argv[1]) == names.end()) {
      print_error("qsweep: error: ", (qsweep::unknown_name_message("subcommand", argv[1], names) +
                                       "\n(qsweep --help says what each does)").c_str());
      return 1;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with code 0; every other parse error is a usage error.
    return app.exit(e) == 0 ? 0 : 1;
  } catch (const qsweep::cli::ExitCode& e) {
    return e.code;
  } catch (const qsweep::Error& e) {
    print_error("qsweep: error: ", e.what());
    return 2;
  } catch (const std::exception& e) {
    print_error("qsweep: internal error: ", e.what());
    return 2;
  }
  return 0;
}
