// `qsweep plot RESULTS.h5`: SVG plots of the table (and PNG copies via rsvg-convert).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "results/anchors.h"
#include "results/plot_svg.h"
#include "results/store.h"
#include "results/table.h"

namespace qsweep::cli {
namespace {

namespace fs = std::filesystem;

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  f.close();
  if (!f) throw results::ResultsError(path.string() + ": cannot write");
}

// PNG through librsvg's converter (Debian librsvg2-bin): a well-kept renderer instead of a
// rasteriser of our own.
void write_png(const fs::path& svg, const fs::path& png) {
  if (std::system("command -v rsvg-convert >/dev/null 2>&1") != 0) {
    throw results::ResultsError("--png needs rsvg-convert (apt-get install librsvg2-bin); the SVG is written: " +
                                svg.string());
  }
  const std::string cmd = fmt::format("rsvg-convert -f png -o '{}' '{}'", png.string(), svg.string());
  if (std::system(cmd.c_str()) != 0) throw results::ResultsError("rsvg-convert failed on " + svg.string());
}

}  // namespace

void add_plot_command(CLI::App& app) {
  struct Args {
    std::string results, out_dir;
    std::vector<std::string> anchors;
    bool cross_dataset = false, png = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "plot",
      "Plot a results file as SVG: <name>_accuracy.svg (top-1 vs bit width, one panel per model, a line per\n"
      "backend and calibrator pair, FP32 dashed) and, with --anchors, <name>_vs_anchors.svg (ours - published\n"
      "per cell). Prints the paths it wrote.");
  input_file(cmd->add_option("results", a->results, "results file written by `qsweep run`")->required(), "a results file written by `qsweep run`");
  cmd->add_option("--out-dir", a->out_dir, "folder for the plots (default: the results file's folder)");
  input_file(cmd->add_option("--anchors", a->anchors, "anchor file(s) with published numbers (sweeps/anchors/*.yaml)"),
             "an anchor file (sweeps/anchors/*.yaml)");
  cmd->add_flag("--cross-dataset", a->cross_dataset,
                "allow anchors of another dataset than the results' (the plot then carries a red warning)");
  cmd->add_flag("--png", a->png, "also write PNG copies (needs rsvg-convert from librsvg2-bin)");
  cmd->callback([a] {
    const results::ResultsStore store(a->results, results::ResultsStore::Mode::kReadOnly);
    const fs::path in(a->results);
    const fs::path dir = a->out_dir.empty() ? (in.has_parent_path() ? in.parent_path() : fs::path(".")) : fs::path(a->out_dir);
    fs::create_directories(dir);
    const std::string stem = in.stem().string();
    const std::string title = store.sweep_name().empty() ? stem : store.sweep_name();
    std::vector<fs::path> written;
    const auto table = results::build_table(store.rows(), store.plan());
    written.push_back(dir / (stem + "_accuracy.svg"));
    write_file(written.back(), results::accuracy_svg(table, title));
    if (!a->anchors.empty()) {
      const auto anchors = results::load_anchors(a->anchors);
      const auto warning = results::check_anchor_dataset(anchors, store.dataset(), a->results, a->cross_dataset);
      if (!warning.empty()) std::cerr << "qsweep: warning: " << warning << "\n";
      const auto judged = results::build_table(store.rows(), store.plan(), &anchors);
      written.push_back(dir / (stem + "_vs_anchors.svg"));
      write_file(written.back(), results::anchor_delta_svg(judged, title, warning.empty() ? "" : "WARNING: " + warning));
    }
    const size_t svgs = written.size();
    if (a->png) {
      for (size_t i = 0; i < svgs; ++i) {
        auto png = written[i];
        png.replace_extension(".png");
        write_png(written[i], png);
        written.push_back(png);
      }
    }
    for (const auto& p : written) std::cout << p.string() << "\n";
  });
}

}  // namespace qsweep::cli
