// `qsweep inspect-model NAME`: the graph a builder emits, node by node.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "graph/dump.h"
#include "graph/passes.h"
#include "models/zoo.h"

namespace qsweep::cli {

void add_inspect_model_command(CLI::App& app) {
  struct Args {
    std::string name;
    models::ModelOptions options;
    bool fold_bn = false;
  };
  auto args = std::make_shared<Args>();
  std::string names;
  for (const auto& m : models::model_registry()) names += (names.empty() ? "" : ", ") + m.name;
  auto* cmd = app.add_subcommand("inspect-model", "Print a model's graph: every node with op, inputs and parameter shapes");
  cmd->add_option("name", args->name, "architecture: " + names)->required();
  cmd->add_option("--num-classes", args->options.num_classes, "classifier outputs")->capture_default_str();
  cmd->add_option("--in-channels", args->options.in_channels, "image channels")->capture_default_str();
  cmd->add_option("--width", args->options.width, "channel multiplier")->capture_default_str();
  cmd->add_flag("--small-input", args->options.small_input, "3x3 stride-1 stem without max-pool (28-32 px images)");
  cmd->add_flag("--fold-bn", args->fold_bn, "run the fold-bn pass first (as the TensorRT backend does)");
  cmd->callback([args] {
    auto g = models::build_model(args->name, args->options);
    if (args->fold_bn) {
      graph::PassContext ctx;
      graph::run_pass("fold-bn", g, ctx);
    }
    graph::dump(g, std::cout);
  });
}

}  // namespace qsweep::cli
