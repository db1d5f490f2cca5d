// `qsweep export RESULTS.h5`: the results file as a tidy table (csv or jsonl) for pandas or R.
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "results/export.h"
#include "results/store.h"

namespace qsweep::cli {

void add_export_command(CLI::App& app) {
  struct Args {
    std::string results, format = "csv", out;
    bool quantizers = false, all_attempts = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "export",
      "Export a results file as a tidy table: one row per task with every field and its resolved configuration\n"
      "(config.* columns), or with --quantizers one row per quantizer channel (long form). results/README.md\n"
      "has the pandas recipes.");
  input_file(cmd->add_option("results", a->results, "results file written by `qsweep run`")->required(), "a results file written by `qsweep run`");
  cmd->add_option("--format", a->format, "csv (RFC 4180, header row) or jsonl (one JSON object per line)")
      ->capture_default_str()
      ->check(CLI::IsMember(results::export_format_names()));
  cmd->add_option("--out", a->out, "write to this file instead of standard output");
  cmd->add_flag("--quantizers", a->quantizers,
                "per-layer long form: id, cell, quantizer, is_weight, bits, qmin, qmax, channel, scale, zero_point,\n"
                "min, max, sqnr_db");
  cmd->add_flag("--all-attempts", a->all_attempts, "every attempt of every task (retries too), not only the newest");
  cmd->callback([a] {
    const results::ResultsStore store(a->results, results::ResultsStore::Mode::kReadOnly);
    const auto format = results::export_format(a->format);
    std::ofstream file;
    if (!a->out.empty()) {
      file.open(a->out, std::ios::binary);
      if (!file) throw results::ResultsError(a->out + ": cannot open for writing");
    }
    std::ostream& out = a->out.empty() ? std::cout : file;
    if (a->quantizers) {
      results::export_quantizers(store, format, out);
    } else {
      results::export_tasks(store, format, out, {a->all_attempts});
    }
    out.flush();
    if (!out) throw results::ResultsError((a->out.empty() ? "standard output" : a->out) + ": write failed");
  });
}

}  // namespace qsweep::cli
