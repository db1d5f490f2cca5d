// `qsweep plan SWEEP.yaml` and `qsweep run SWEEP.yaml`: the product's main job.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>
#include <iostream>
#include <map>

#include "cli/commands.h"
#include "dist/sweep_runner.h"
#include "dist/world.h"
#include "quant/layer_rule.h"
#include "sweep/cell_runner.h"
#include "support/cell_filter.h"
#include "sweep/plan.h"
#include "sweep/schedule.h"

namespace qsweep::cli {
namespace {

// The cell as `--filter` sees it: the table axes, bits as text, and whether it has per-layer rules
// (layers=none | set: a rule's text has the filter's own separators in it).
std::map<std::string, std::string> filter_fields(const sweep::Cell& c) {
  return {{"model", c.model},
          {"backend", c.backend},
          {"w_calib", c.w_calib},
          {"a_calib", c.a_calib},
          {"wbit", std::to_string(c.wbit)},
          {"abit", std::to_string(c.abit)},
          {"layers", c.layers.empty() ? "none" : "set"}};
}

const std::vector<std::string>& filter_keys() {
  static const std::vector<std::string> keys = {"model", "backend", "w_calib", "a_calib", "wbit", "abit", "layers"};
  return keys;
}

struct SelectionArgs {
  std::string filter;
  std::vector<std::string> set;
};

void add_selection_options(CLI::App* cmd, SelectionArgs& a) {
  cmd->add_option("--filter", a.filter,
                  "run only the cells that match, e.g. 'model=resnet18,wbit=4' or 'w_calib=minmax|mse'\n"
                  "(keys: model, backend, w_calib, a_calib, wbit, abit, layers=none|set: without / with\n"
                  "per-layer rules; the plan in the results file stays whole)");
  cmd->add_option("--set", a.set,
                  "override an option in every cell, validated as in the file: --set a_p=2.4 --set iterations=100\n"
                  "(keys: w_p, a_p, ema_ratio, symmetric_range, iterations, round_weight, warm_up, drop_prob,\n"
                  "deploy_check (int8: also run each cell in integer arithmetic), group_size (auto|N ranks per\n"
                  "task; the only one not in the task ids), seed; part of the task ids, and recorded in the\n"
                  "stored sweep text)");
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

// `--group-size auto|N` → 0 (auto) or N ≥ 1.
int parse_group_size(const std::string& text) {
  if (text == "auto") return 0;
  try {
    size_t used = 0;
    const int n = std::stoi(text, &used);
    if (used == text.size() && n >= 1) return n;
  } catch (const std::exception&) {
  }
  throw CLI::ValidationError("--group-size", fmt::format("'{}' is neither 'auto' nor a rank count ≥ 1", text));
}

const char* kGroupSizeHelp =
    "ranks per task where the cell's `group_size` option does not say: 1 = one rank per task (default),\n"
    "N = every task on N ranks, auto = the cost model gives the long tasks groups (capped at the\n"
    "calibration batch size); a group computes the numbers one rank would (docs/groups.md)";

struct GroupArgs {
  int ranks = 0;  // 0: no group plan
  int ranks_per_node = 0;
  std::string group_size = "1";
};

// The groups `run` would form on a.ranks ranks and the makespan the cost model predicts for them.
void print_group_plan(const sweep::SweepSpec& spec, const std::vector<sweep::Task>& tasks, const GroupArgs& a) {
  const int per_node = a.ranks_per_node > 0 ? a.ranks_per_node : a.ranks;
  const auto nodes = sweep::block_nodes(a.ranks, per_node);
  const auto groups = sweep::plan_group_sizes(spec, tasks, parse_group_size(a.group_size), a.ranks, nodes);
  std::vector<double> costs;
  for (const auto& t : tasks) costs.push_back(t.cost);
  const auto order = sweep::longest_first(costs);
  const auto sched = sweep::simulate(costs, order, groups, nodes);
  const auto off = sweep::simulate(costs, order, std::vector<int>(tasks.size(), 1), nodes);
  std::vector<std::vector<int>> ranks_of(tasks.size());
  for (const auto& st : sched.tasks) ranks_of[st.task] = st.ranks;
  fmt::print("\ntask groups on {} ranks ({} per node), --group-size {}, longest first:\n", a.ranks, per_node,
             a.group_size);
  fmt::print("{:<16}  {:<16} {:<10} {:<20} {:<20} {:>4} {:>4} {:>8} {:>5}  {}\n", "id", "model", "backend", "w_calib",
             "a_calib", "wbit", "abit", "cost", "group", "ranks (predicted)");
  for (size_t i : order) {
    const auto& t = tasks[i];
    const std::string rs = fmt::format("{}", fmt::join(ranks_of[i], ","));
    fmt::print("{:<16}  {:<16} {:<10} {:<20} {:<20} {:>4} {:>4} {:>8.3f} {:>5}  {}\n", t.id, t.cell.model, t.cell.backend,
               t.cell.w_calib, t.cell.a_calib, t.cell.wbit, t.cell.abit, t.cost, groups[i], rs);
  }
  const int grouped = static_cast<int>(std::count_if(groups.begin(), groups.end(), [](int g) { return g > 1; }));
  fmt::print("predicted makespan {:.3f} units = {:.3f} x ideal (sum of costs / {} ranks = {:.3f}); "
             "{} task(s) in groups; one rank per task: {:.3f} x ideal\n",
             sched.makespan, sched.ideal > 0 ? sched.makespan / sched.ideal : 1.0, a.ranks, sched.ideal, grouped,
             off.ideal > 0 ? off.makespan / off.ideal : 1.0);
  fmt::print("(the cost model's units; groups assumed to scale perfectly, so a group's real time is longer)\n");
}

void plan(const std::string& path, const SelectionArgs& selection, bool resolve, const GroupArgs& group) {
  const auto [spec, keep] = select(path, selection);
  sweep::PlanInputs in;
  if (resolve) {
    sweep::CellRunner runner(spec, c10::Device(c10::kCPU));
    in = runner.plan_inputs();
  }
  const auto tasks = sweep::make_plan(spec, in);
  std::vector<sweep::Task> kept;
  for (const auto& t : tasks) {
    if (!keep || keep(t.cell)) kept.push_back(t);
  }
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
    if (!t.cell.layers.empty()) fmt::print("{:<16}  layers: {}\n", "", quant::rules_label(t.cell.layers));
    cost += t.cost;
    shown++;
  }
  fmt::print("{}: {} grid cells, {} tasks ({} duplicates removed){}, {} models; estimated cost {:.2f} units\n",
             spec.name, spec.cells.size(), tasks.size(), spec.cells.size() - tasks.size(),
             keep ? fmt::format(", {} selected by --filter", shown) : "", spec.models.size(), cost);
  // Per-layer rules are checked on the model graphs (no data needed): which nodes each one sets.
  // Every cell's rules are checked, as `run` checks them, whatever --filter keeps; only the kept
  // cells' are listed.
  auto layer_lines = sweep::resolve_layer_rules(spec, spec.cells);
  if (keep) {
    std::vector<sweep::Cell> kept_cells;
    for (const auto& c : spec.cells) {
      if (keep(c)) kept_cells.push_back(c);
    }
    layer_lines = sweep::resolve_layer_rules(spec, kept_cells);
  }
  if (!layer_lines.empty()) {
    fmt::print("per-layer rules (layers:) of the {}cells, as the layer-overrides pass applies them:\n",
               keep ? "selected " : "");
    for (const auto& l : layer_lines) fmt::print("  {}\n", l);
  }
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
  if (group.ranks > 0) print_group_plan(spec, kept, group);
}

}  // namespace

void add_sweep_commands(CLI::App& app) {
  struct PlanArgs {
    std::string sweep;
    SelectionArgs selection;
    bool resolve = false;
    GroupArgs group;
  };
  auto pa = std::make_shared<PlanArgs>();
  auto* p = app.add_subcommand(
      "plan",
      "Validate a sweep file and print its expanded tasks, counts and cost, and which nodes each per-layer\n"
      "rule (layers:) sets on the model graphs; writes nothing and needs no data (sweeps/README.md)");
  input_file(p->add_option("sweep", pa->sweep, "sweep YAML file")->required(), "a sweep file (sweeps/*.yaml)");
  p->add_flag("--resolve", pa->resolve, "also read the checkpoints and shards, giving the final task ids");
  add_selection_options(p, pa->selection);
  p->add_option("--ranks", pa->group.ranks,
                "also show the task groups `run` would form on this many ranks and the predicted makespan")
      ->check(CLI::Range(1, 1 << 20));
  p->add_option("--ranks-per-node", pa->group.ranks_per_node,
                "ranks per node for --ranks (groups stay on one node where they can; default: one node)")
      ->check(CLI::Range(1, 1 << 20));
  p->add_option("--group-size", pa->group.group_size, kGroupSizeHelp)->capture_default_str();
  p->callback([pa] {
    parse_group_size(pa->group.group_size);
    plan(pa->sweep, pa->selection, pa->resolve, pa->group);
  });

  struct RunArgs {
    std::string sweep;
    SelectionArgs selection;
    dist::RunOptions options;
    bool no_resume = false;
    std::string group_size = "1";
  };
  auto a = std::make_shared<RunArgs>();
  auto* r = app.add_subcommand(
      "run",
      "Run a sweep on every MPI rank (mpirun -n N / srun / alone): results/<sweep>.h5, resumable.\n"
      "Exit code 3 when any task failed (its row holds the error).");
  input_file(r->add_option("sweep", a->sweep, "sweep YAML file")->required(), "a sweep file (sweeps/*.yaml)");
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
  r->add_option("--group-size", a->group_size, kGroupSizeHelp)->capture_default_str();
  add_selection_options(r, a->selection);
  r->callback([a] {
    a->options.group_size = parse_group_size(a->group_size);
    dist::World world(nullptr, nullptr);
    a->options.resume = !a->no_resume;
    auto [spec, keep] = select(a->sweep, a->selection);
    a->options.keep = keep;
    const auto s = dist::run_sweep(world, spec, a->options);
    if (world.rank() == 0 && s.failed > 0) throw ExitCode{Exit::kFound};
  });
}

}  // namespace qsweep::cli
