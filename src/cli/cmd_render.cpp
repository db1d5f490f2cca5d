// `qsweep render RESULTS.h5`: the results file as the MQBench table (rst, md or csv), optionally
// beside the published numbers of anchor files (sweeps/anchors/*.yaml) with our difference.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "results/anchors.h"
#include "results/renderer.h"
#include "results/store.h"
#include "results/table.h"

namespace qsweep::cli {

void add_render_command(CLI::App& app) {
  struct Args {
    std::string results;
    std::string format = "rst";
    std::vector<std::string> anchors;
    std::string out;
    bool cross_dataset = false;
    bool deploy = false;
    bool published_labels = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "render",
      "Render a results file as the MQBench PTQ table (one table per backend). A cell reads 'failed' when its\n"
      "tasks failed (exit code 3, after the table is written) and '·' ('-' in csv) when it has not run yet.");
  input_file(cmd->add_option("results", args->results, "results file written by `qsweep run` (results/<sweep>.h5)")
                 ->required(),
             "a results file written by `qsweep run`");
  cmd->add_option("--format", args->format, "table format: rst (the seed's grid tables), md or csv")
      ->capture_default_str()
      ->check(CLI::IsMember(results::renderer_names()));
  input_file(cmd->add_option("--anchors", args->anchors,
                             "anchor file(s) with published numbers (sweeps/anchors/*.yaml); adds published and delta per cell"),
             "an anchor file (sweeps/anchors/*.yaml)");
  cmd->add_option("--out", args->out, "write the table to this file instead of standard output");
  cmd->add_flag("--cross-dataset", args->cross_dataset,
                "allow anchors of another dataset than the results' (e.g. ImageNet numbers beside the Fashion-MNIST\n"
                "demo); the output then starts with a warning saying so");
  cmd->add_flag("--deploy", args->deploy,
                "beside each simulated (fake-quant) top-1, the integer top-1 of the deployment check and the gap:\n"
                "'70.93 / 70.88 (-0.05)'; cells run with deploy_check: int8 (`qsweep run --set deploy_check=int8`)");
  cmd->add_flag("--published-labels", args->published_labels,
                "label calibrators as the published MQBench table does: 'EMAQuantile' for ema_quantile_legacy,\n"
                "without the † mark and its footnote (the seed table's exact bytes)");
  cmd->callback([args] {
    const results::ResultsStore store(args->results, results::ResultsStore::Mode::kReadOnly);
    std::optional<results::Anchors> anchors;
    std::string warning;
    if (!args->anchors.empty()) {
      anchors = results::load_anchors(args->anchors);
      warning = results::check_anchor_dataset(*anchors, store.dataset(), args->results, args->cross_dataset);
      if (!warning.empty()) std::cerr << "qsweep: warning: " << warning << "\n";
    }
    const auto rows = store.rows();
    if (args->deploy && std::none_of(rows.begin(), rows.end(), [](const auto& r) { return !r.deploy.empty(); })) {
      std::cerr << "qsweep: note: no cell of " << args->results
                << " was checked in integer arithmetic (run with --set deploy_check=int8)\n";
    }
    auto table = results::build_table(rows, store.plan(), anchors ? &*anchors : nullptr, args->deploy,
                                      args->published_labels ? results::Labels::kPublished : results::Labels::kMarked);
    table.context.warning = warning;
    std::ostringstream text;
    results::render(table, *results::make_renderer(args->format, text));
    // CSV is data: its footnotes go where its warnings go.
    if (args->format == "csv") {
      for (const auto& note : table.context.footnotes) std::cerr << "qsweep: note: " << note << "\n";
    }
    if (args->out.empty()) {
      std::cout << text.str() << std::flush;
    } else {
      std::ofstream f(args->out, std::ios::binary);
      f << text.str();
      f.close();
      if (!f) throw results::ResultsError(args->out + ": cannot write the rendered table");
    }
    // The table is written either way; a failed cell is a finding, as a failed task is for `run`.
    if (const size_t failed = results::failed_cells(table); failed > 0) {
      std::cerr << "qsweep: " << failed << " cell(s) of " << args->results
                << " failed (`qsweep export " << args->results << "` has their errors)\n";
      throw ExitCode{Exit::kFound};
    }
  });
}

}  // namespace qsweep::cli
