// `qsweep version` and `qsweep observers`: what this build is and which calibrators it knows;
// the model options every model-building command shares.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "models/zoo.h"
#include "quant/observer.h"
#include "support/version.h"

namespace qsweep::cli {

void add_model_options(CLI::App* cmd, models::ModelOptions& o) {
  cmd->add_option("--num-classes", o.num_classes, "classifier outputs")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  cmd->add_option("--in-channels", o.in_channels, "image channels")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{64}));
  cmd->add_option("--width", o.width, "channel multiplier")->capture_default_str()->check(CLI::Range(0.01, 16.0));
  cmd->add_flag("--small-input", o.small_input, "3x3 stride-1 stem without max-pool (28-32 px images)");
}

void add_version_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("version", "Print the qsweep version, git commit and LibTorch build");
  cmd->callback([] {
    fmt::print("{}\n", version_line());
  });
}

void add_observers_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("observers", "List the range observers (calibrators) by registry name");
  cmd->callback([] {
    fmt::print("{:<21} {:<12} {}\n", "name", "table label", "what it does");
    for (const auto& o : quant::observer_registry()) {
      fmt::print("{:<21} {:<12} {}{}\n", o.name, o.display_name, o.summary, o.per_tensor_only ? " [per-tensor only]" : "");
    }
  });
}

}  // namespace qsweep::cli
