// qsweep: post-training-quantization sweeps. `qsweep --help` lists the subcommands; each has
// its own --help. Exit codes: cli/exit_codes.h (0 done, 1 usage, 2 bad input, 3 found failures).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "support/error.h"
#include "support/strings.h"
#include "support/version.h"

int main(int argc, char** argv) {
  CLI::App app{
      "qsweep — distributed post-training-quantization benchmarks of image classifiers.\n"
      "Reproduces the MQBench ImageNet PTQ table (MinMax/MSE/AdaRound weights, EMAMinMax/EMAQuantile/EMAMSE\n"
      "activations, Academic and TensorRT backends) on LibTorch, on one machine or a cluster.",
      "qsweep"};
  app.require_subcommand(1);
  app.footer(
      "Exit codes (every subcommand): 0 done; 1 the command line alone is wrong (unknown flag, missing argument,\n"
      "a value out of range or that does not parse, --set/--filter/--cell included); 2 an input is wrong or the work\n"
      "could not be done (a missing or malformed file, a --filter or --cell that matches nothing in it); 3 the work\n"
      "ran and found failed tasks or differences.");
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
      try {
        throw qsweep::UsageError(qsweep::unknown_name_message("subcommand", argv[1], names) +
                                 "\n(qsweep --help says what each does)");
      } catch (...) {
        return qsweep::cli::exit_status_of_current_exception(app);
      }
    }
  }
  try {
    app.parse(argc, argv);
  } catch (...) {
    return qsweep::cli::exit_status_of_current_exception(app);
  }
  return 0;
}
