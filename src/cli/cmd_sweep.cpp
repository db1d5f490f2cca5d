// `qsweep plan SWEEP.yaml` and `qsweep run SWEEP.yaml`: the product's main job.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <functional>
#include <iostream>
#include <map>

#include "cli/commands.h"
#include "dist/sweep_runner.h"
#include "dist/world.h"
#include "sweep/cell_runner.h"
#include "support/cell_filter.h"
#include "sweep/plan.h"

namespace qsweep::cli {
namespace {

// The cell as `--filter` sees it: the table axes, bits as text.
std::map<std::string, std::string> filter_fields(const sweep::Cell& c) {
  return {{"model", c.model},     {"backend", c.backend},          {"w_calib", c.w_calib},
          {"a_calib", c.a_calib}, {"wbit", std::to_string(c.wbit)}, {"abit", std::to_string(c.abit)}};
}

const std::vector<std::string>& filter_keys() {
  static const std::vector<std::string> keys = {"model", "backend", "w_calib", "a_calib", "wbit", "abit"};
  return keys;
}

struct SelectionArgs {
  std::string filter;
  std::vector<std::string> set;
};

void add_selection_options(CLI::App* cmd, SelectionArgs& a) {
  cmd->add_option("--filter", a.filter,
                  "run only the cells that match, e.g. 'model=resnet18,wbit=4' or 'w_calib=minmax|mse'\n"
                  "(keys: model, backend, w_calib, a_calib, wbit, abit; the plan in the results file stays whole)");
  cmd->add_option("--set", a.set,
                  "override an option in every cell, validated as in the file: --set a_p=2.4 --set iterations=100\n"
                  "(keys: w_p, a_p, ema_ratio, symmetric_range, iterations, round_weight, warm_up, drop_prob,\n"
                  "deploy_check (int8: also run each cell in integer arithmetic), seed;\n"
                  "part of the task ids, and recorded in the stored sweep text)");
}

// The sweep with --set applied, and the --filter predicate (empty when no filter was given).
std::pair<sweep::SweepSpec, std::function<bool(const sweep::Cell&)>> select(const std::string& path,
                                                                           const SelectionArgs& a) {
  auto spec = sweep::load_sweep(path);
  sweep::apply_overrides(spec, a.set);
  std::function<bool(const sweep::Cell&)> keep;
  const auto filter = CellFilter::parse(a.filter, filter_keys());
  if (!filter.empty()) {
    size_t matched = 0;
    for (const auto& c : spec.cells) matched += filter.matches(filter_fields(c)) ? 1 : 0;
    if (matched == 0) throw sweep::SweepError(fmt::format("--filter '{}' matches none of the {} cells of {}",
                                                          filter.text(), spec.cells.size(), path));
    keep = [filter](const sweep::Cell& c) { return filter.matches(filter_fields(c)); };
  }
  return {std::move(spec), keep};
}

void plan(const std::string& path, const SelectionArgs& selection, bool resolve) {
  const auto [spec, keep] = select(path, selection);
  sweep::PlanInputs in;
  if (resolve) {
    sweep::CellRunner runner(spec, c10::Device(c10::kCPU));
    in = runner.plan_inputs();
  }
  const auto tasks = sweep::make_plan(spec, in);
  double cost = 0;
  size_t shown = 0;
  // Without --resolve the ids lack the weights' and data's hashes, so they are not the ids the
  // results file will hold; the header says so where the ids are.
  fmt::print("{:<16}  {:<16} {:<10} {:<20} {:<20} {:>4} {:>4} {:>8}\n", resolve ? "id" : "id (provisional)",
             "model", "backend", "w_calib", "a_calib", "wbit", "abit", "cost");
  for (const auto& t : tasks) {
    if (keep && !keep(t.cell)) continue;
    fmt::print("{:<16}  {:<16} {:<10} {:<20} {:<20} {:>4} {:>4} {:>8.3f}\n", t.id, t.cell.model, t.cell.backend,
               t.cell.w_calib, t.cell.a_calib, t.cell.wbit, t.cell.abit, t.cost);
    cost += t.cost;
    shown++;
  }
  fmt::print("{}: {} grid cells, {} tasks ({} duplicates removed){}, {} models; estimated cost {:.2f} units\n",
             spec.name, spec.cells.size(), tasks.size(), spec.cells.size() - tasks.size(),
             keep ? fmt::format(", {} selected by --filter", shown) : "", spec.models.size(), cost);
  if (!resolve) {
    fmt::print("ids are provisional: they omit the checkpoints' sha256 and the shards' fingerprint "
               "(--resolve reads them and prints the ids `run` will store)\n");
    const auto missing = sweep::missing_inputs(spec);
    if (!missing.empty()) {
      fmt::print("{} input(s) cannot be read yet (`plan` does not need them; `run` and --resolve do):\n",
                 missing.size());
      for (const auto& m : missing) fmt::print("  {}\n", m);
    }
  }
}

}  // namespace

void add_sweep_commands(CLI::App& app) {
  struct PlanArgs {
    std::string sweep;
    SelectionArgs selection;
    bool resolve = false;
  };
  auto pa = std::make_shared<PlanArgs>();
  auto* p = app.add_subcommand(
      "plan", "Validate a sweep file and print its expanded tasks, counts and cost; writes nothing and needs no data");
  p->add_option("sweep", pa->sweep, "sweep YAML file")->required()->check(CLI::ExistingFile);
  p->add_flag("--resolve", pa->resolve, "also read the checkpoints and shards, giving the final task ids");
  add_selection_options(p, pa->selection);
  p->callback([pa] { plan(pa->sweep, pa->selection, pa->resolve); });

  struct RunArgs {
    std::string sweep;
    SelectionArgs selection;
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
  r->add_flag("--new-file", a->options.new_file,
              "if the results file holds another sweep (other text), move it aside to <name>.<UTC time>.h5 and\n"
              "start a new one (default: refuse, naming the first differing line)");
  r->add_flag("--retry-failed,!--skip-failed", a->options.retry_failed,
              "rerun tasks whose last attempt failed (default) or leave them")
      ->capture_default_str();
  r->add_option("--threads", a->options.threads, "intra-op threads per rank (default: cores per node / ranks per node)")
      ->check(CLI::Range(1, 1024));
  add_selection_options(r, a->selection);
  r->callback([a] {
    dist::World world(nullptr, nullptr);
    a->options.resume = !a->no_resume;
    auto [spec, keep] = select(a->sweep, a->selection);
    a->options.keep = keep;
    const auto s = dist::run_sweep(world, spec, a->options);
    if (world.rank() == 0 && s.failed > 0) throw ExitCode{3};
  });
}

}  // namespace qsweep::cli
