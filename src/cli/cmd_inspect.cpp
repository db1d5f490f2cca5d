// `qsweep inspect-model NAME`: the graph a builder emits, node by node; its reconstruction units
// (--partition) or a backend's placement passes at work (--passes).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "graph/dump.h"
#include "graph/passes.h"
#include "models/zoo.h"
#include "quant/placement.h"
#include "quant/quantized_model.h"
#include "quant/reconstruct/partition.h"
#include "support/error.h"

namespace qsweep::cli {

void add_inspect_model_command(CLI::App& app) {
  struct Args {
    std::string name;
    models::ModelOptions options;
    bool fold_bn = false;
    std::string partition;
    std::string backend = "academic";
    bool passes = false;
    int wbit = 4, abit = 8;
  };
  auto args = std::make_shared<Args>();
  std::string names;
  for (const auto& m : models::model_registry()) names += (names.empty() ? "" : ", ") + m.name;
  auto* cmd = app.add_subcommand("inspect-model", "Print a model's graph: every node with op, inputs and parameter shapes");
  cmd->add_option("name", args->name, "architecture: " + names)->required();
  add_model_options(cmd, args->options);
  cmd->add_flag("--fold-bn", args->fold_bn, "run the fold-bn pass first (as the TensorRT backend does)");
  cmd->add_option("--partition", args->partition,
                  "print the reconstruction units (SPEC 5.1) of the prepared graph instead: layer | block")
      ->check(CLI::IsMember({"layer", "block"}));
  cmd->add_option("--backend", args->backend, "backend that prepares the graph for --partition and --passes")
      ->capture_default_str();
  cmd->add_flag("--passes", args->passes,
                "list the backend's placement passes in order and run them on the graph, saying what each changed "
                "(quantizer counts, first/last layers, BN folding); every pass: " +
                    [] {
                      std::string all;
                      for (const auto& n : quant::placement_pass_names()) all += (all.empty() ? "" : ", ") + n;
                      return all;
                    }());
  cmd->add_option("--wbit", args->wbit, "weight bits for --passes")->capture_default_str()->check(CLI::Range(2, 8));
  cmd->add_option("--abit", args->abit, "activation bits for --passes")->capture_default_str()->check(CLI::Range(2, 8));
  cmd->callback([args] {
    try {  // names typed on the command line: an unknown one is a usage error (exit 1)
      (void)models::model_info(args->name);
      (void)quant::backend(args->backend);
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
    auto g = models::build_model(args->name, args->options);
    if (args->passes) {
      const auto& policy = quant::backend(args->backend);
      quant::CalibrationConfig config;
      config.wbit = args->wbit, config.abit = args->abit;
      std::cout << fmt::format("{} on {} (W{}A{}): {} placement passes\n", args->name, policy.display_name, config.wbit,
                               config.abit, policy.passes.size());
      quant::Placement p(g, policy, config);
      for (size_t i = 0; i < policy.passes.size(); ++i) {
        const std::string& pass = policy.passes[i];
        std::ostringstream log;
        p.log = &log;
        quant::run_placement_pass(pass, p);
        std::cout << fmt::format("{}. {}\n", i + 1, pass);
        std::istringstream lines(log.str());
        for (std::string line; std::getline(lines, line);) {
          if (line.rfind(pass + ": ", 0) == 0) line = line.substr(pass.size() + 2);  // the heading names it
          std::cout << "   " << line << "\n";
        }
      }
      return;
    }
    if (!args->partition.empty()) {
      const auto qm = quant::prepare(g, quant::backend(args->backend), {});
      const auto pattern = quant::reconstruct::pattern_from_name(args->partition);
      const auto units = quant::reconstruct::partition(qm.graph, pattern);
      std::cout << fmt::format("{} ({}, {}): {} {} units\n", args->name, args->backend, args->partition, units.size(),
                               args->partition);
      quant::reconstruct::dump(qm.graph, units, std::cout);
      return;
    }
    if (args->fold_bn) {
      graph::PassContext ctx;
      graph::run_pass("fold-bn", g, ctx);
    }
    graph::dump(g, std::cout);
  });
}

}  // namespace qsweep::cli
