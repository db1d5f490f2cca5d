// `qsweep show RESULTS.h5 TASK_ID | --cell k=v,...`: one task's provenance, timings and per-layer
// quantizer table.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "support/error.h"
#include "results/store.h"
#include "results/task_report.h"
#include "support/strings.h"

namespace qsweep::cli {

void add_show_command(CLI::App& app) {
  struct Args {
    std::string results, id, cell;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "show",
      "Show one task of a results file: cell, accuracy, provenance (rank, host, commit, weights, data), phase\n"
      "timings, resolved configuration, attempts, and every quantizer (bits, range, scale, zero point, observed\n"
      "min/max, SQNR on one calibration batch). Select it by id (a unique prefix is enough) or with --cell.");
  input_file(cmd->add_option("results", a->results, "results file written by `qsweep run`")->required(), "a results file written by `qsweep run`");
  auto* id = cmd->add_option("task_id", a->id, "task id as `qsweep plan --resolve` and `export` print it, or a prefix");
  auto* cell = cmd->add_option("--cell", a->cell,
                               "select by cell instead: 'model=resnet18,backend=academic,w_calib=minmax,wbit=4'\n"
                               "(keys: model, backend, w_calib, a_calib, wbit, abit, status, layers=none|set); must match one task");
  id->excludes(cell);
  cmd->callback([a] {
    if (a->cell.empty() && a->id.empty()) {
      throw UsageError("show: give a task id or --cell (qsweep export " + a->results + " lists the ids)");
    }
    const results::ResultsStore store(a->results, results::ResultsStore::Mode::kReadOnly);
    std::vector<std::string> ids;
    if (!a->cell.empty()) {
      ids = results::matching_task_ids(store, a->cell);
    } else {
      for (const auto& r : store.rows()) {
        if (r.id.rfind(a->id, 0) == 0) ids.push_back(r.id);
      }
    }
    const std::string what = a->cell.empty() ? "task id '" + a->id + "'" : "--cell '" + a->cell + "'";
    if (ids.empty()) throw results::ResultsError(fmt::format("{}: no task matches {}", a->results, what));
    if (ids.size() > 1) {
      throw results::ResultsError(fmt::format("{}: {} matches {} tasks: {}; narrow it down", a->results, what,
                                              ids.size(), join(ids)));
    }
    results::print_task(store, *store.latest(ids.front()), std::cout);
  });
}

}  // namespace qsweep::cli
