// `qsweep compare A.h5 B.h5`: two results files cell by cell, for people and for CI.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/commands.h"
#include "results/compare.h"
#include "results/store.h"

namespace qsweep::cli {

void add_compare_command(CLI::App& app) {
  struct Args {
    std::string a, b;
    results::CompareOptions options;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "compare",
      "Compare two results files: each cell's top-1 in A and B and B - A, cells only in one, and provenance\n"
      "differences (commits, LibTorch, dataset, weights, data). Cells match by model, backend, calibrators, bits\n"
      "and resolved options, not by task id. Exit code 3 when a |B - A| exceeds --max-delta or a cell is missing\n"
      "or failed in one file (unless --allow-missing); 0 otherwise.");
  input_file(cmd->add_option("a", args->a, "first results file (the reference)")->required(), "a results file written by `qsweep run`");
  input_file(cmd->add_option("b", args->b, "second results file")->required(), "a results file written by `qsweep run`");
  cmd->add_option("--max-delta", args->options.max_delta, "largest |B - A| in top-1 points that still passes")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_flag("--allow-missing", args->options.allow_missing,
                "cells in only one file, or failed in one, do not fail the comparison");
  cmd->add_option("--sort", args->options.sort,
                  "table: the rendered table's order (backend, row, model); delta: largest |B - A| first, then\n"
                  "cells missing or failed in one file")
      ->capture_default_str()
      ->check(CLI::IsMember({"table", "delta"}));
  cmd->add_flag("--only-diff", args->options.only_diff, "list only the cells whose B - A is not +0.00 (or is missing)");
  cmd->callback([args] {
    const results::ResultsStore a(args->a, results::ResultsStore::Mode::kReadOnly);
    const results::ResultsStore b(args->b, results::ResultsStore::Mode::kReadOnly);
    const auto c = results::compare_results(a, b);
    results::print_comparison(c, args->options, std::cout);
    if (!results::comparison_passes(c, args->options)) throw ExitCode{Exit::kFound};
  });
}

}  // namespace qsweep::cli
