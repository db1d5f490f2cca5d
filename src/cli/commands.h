// Each `qsweep` subcommand registers itself on the root CLI11 app; the callbacks do the work.
// Only src/cli/exit_codes.cpp maps exceptions to exit codes (STYLE rule 13).
#pragma once

#include "cli/exit_codes.h"

namespace CLI {
class App;
}
namespace qsweep::models {
struct ModelOptions;
}

namespace qsweep::cli {

// --num-classes, --in-channels, --width, --small-input (range-checked) for a command that builds a model.
void add_model_options(CLI::App* cmd, models::ModelOptions& options);

void add_version_command(CLI::App& app);
void add_observers_command(CLI::App& app);
void add_quant_error_command(CLI::App& app);
void add_inspect_model_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_render_command(CLI::App& app);
void add_sweep_commands(CLI::App& app);
void add_prepare_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_show_command(CLI::App& app);
void add_compare_command(CLI::App& app);
void add_plot_command(CLI::App& app);

}  // namespace qsweep::cli
