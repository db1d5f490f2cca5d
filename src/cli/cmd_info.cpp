// `qsweep version` and `qsweep observers`: what this build is and which calibrators it knows.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "quant/observer.h"
#include "support/version.h"

namespace qsweep::cli {

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
