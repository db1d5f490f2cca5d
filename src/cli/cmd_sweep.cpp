// `qsweep plan SWEEP.yaml` and `qsweep run SWEEP.yaml`: the product's main job.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "dist/sweep_runner.h"
#include "dist/world.h"
#include "sweep/cell_runner.h"
#include "sweep/plan.h"

namespace qsweep::cli {
namespace {

void plan(const std::string& path, bool resolve) {
  const auto spec = sweep::load_sweep(path);
  sweep::PlanInputs in;
  if (resolve) {
    sweep::CellRunner runner(spec, c10::Device(c10::kCPU));
    in = runner.plan_inputs();
  }
  const auto tasks = sweep::make_plan(spec, in);
  double cost = 0;
  fmt::print("{:<16}  {:<16} {:<10} {:<20} {:<20} {:>4} {:>4} {:>8}\n", "id", "model", "backend", "w_calib", "a_calib",
             "wbit", "abit", "cost");
  for (const auto& t : tasks) {
    fmt::print("{:<16}  {:<16} {:<10} {:<20} {:<20} {:>4} {:>4} {:>8.3f}\n", t.id, t.cell.model, t.cell.backend,
               t.cell.w_calib, t.cell.a_calib, t.cell.wbit, t.cell.abit, t.cost);
    cost += t.cost;
  }
  fmt::print("{}: {} grid cells, {} tasks ({} duplicates removed), {} models; estimated cost {:.2f} units{}\n",
             spec.name, spec.cells.size(), tasks.size(), spec.cells.size() - tasks.size(), spec.models.size(), cost,
             resolve ? "" : " (ids without weights/data fingerprints: --resolve reads them)");
}

}  // namespace

void add_sweep_commands(CLI::App& app) {
  auto file = std::make_shared<std::string>();
  auto resolve = std::make_shared<bool>(false);
  auto* p = app.add_subcommand("plan", "Validate a sweep file and print its expanded tasks, counts and cost; writes nothing");
  p->add_option("sweep", *file, "sweep YAML file")->required()->check(CLI::ExistingFile);
  p->add_flag("--resolve", *resolve, "also read the checkpoints and shards, giving the final task ids");
  p->callback([file, resolve] { plan(*file, *resolve); });

  struct RunArgs {
    std::string sweep;
    dist::RunOptions options;
    bool no_resume = false;
  };
  auto a = std::make_shared<RunArgs>();
  auto* r = app.add_subcommand(
      "run",
      "Run a sweep on every MPI rank (mpirun -n N / srun / alone): results/<sweep>.h5, resumable.\n"
      "Exit code 3 when any task failed (its row holds the error).");
  r->add_option("sweep", a->sweep, "sweep YAML file")->required()->check(CLI::ExistingFile);
  r->add_option("--results", a->options.results, "results file (default results/<sweep>.h5)");
  r->add_flag("--no-resume", a->no_resume, "rerun every task even if the results file has it");
  r->add_flag("--retry-failed,!--skip-failed", a->options.retry_failed,
              "rerun tasks whose last attempt failed (default) or leave them")
      ->capture_default_str();
  r->add_option("--threads", a->options.threads, "intra-op threads per rank (default: cores per node / ranks per node)");
  r->callback([a] {
    dist::World world(nullptr, nullptr);
    a->options.resume = !a->no_resume;
    const auto spec = sweep::load_sweep(a->sweep);
    const auto s = dist::run_sweep(world, spec, a->options);
    if (world.rank() == 0 && s.failed > 0) throw ExitCode{3};
  });
}

}  // namespace qsweep::cli
