// `qsweep plan SWEEP.yaml` and `qsweep run SWEEP.yaml`: the product's main job.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>
#include <iostream>
#include <map>
#include <optional>

#include "cli/commands.h"
#include "dist/sweep_runner.h"
#include "dist/world.h"
#include "quant/layer_rule.h"
#include "results/cost_samples.h"
#include "results/store.h"
#include "sweep/cell_runner.h"
#include "support/cell_filter.h"
#include "sweep/cost_model.h"
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

struct CostArgs {
  std::string costs;       // a saved fit
  std::string costs_from;  // a results file to fit from
  std::string save_costs;  // where to write the fit of --costs-from
  std::string reference;   // what one second of the fit is, when the file's hosts do not say enough
};

const char* kCostsHelp =
    "the cost model's coefficients: a fit saved by `plan --costs-from ... --save-costs` (JSON); default:\n"
    "the built-in fit of the demo on the 2-core VM (sweeps/costs/demo_2core.json)";

void add_costs_option(CLI::App* cmd, std::string& path) {
  input_file(cmd->add_option("--costs", path, kCostsHelp), "a cost fit (sweeps/costs/*.json)");
}

// "0.1.0 at 1a2b3c4" of the runs that wrote `store`, joined.
std::string writing_version(const results::ResultsStore& store) {
  std::vector<std::string> seen;
  for (const auto& r : store.runs()) {
    const auto v = fmt::format("{} at {}", r.qsweep_version, r.git_commit);
    if (std::find(seen.begin(), seen.end(), v) == seen.end()) seen.push_back(v);
  }
  return fmt::format("{}", fmt::join(seen, ", "));
}

// The fit a command uses: --costs-from's (its per-class error printed), --costs's, or the built-in.
sweep::CostFit chosen_fit(const CostArgs& a) {
  if (a.costs_from.empty()) return a.costs.empty() ? sweep::default_cost_fit() : sweep::load_cost_fit(a.costs);
  const results::ResultsStore store(a.costs_from, results::ResultsStore::Mode::kReadOnly);
  const auto s = results::cost_samples(store);
  if (s.samples.empty()) {
    throw results::ResultsError(a.costs_from + ": no ok row run on one rank to fit the cost model from");
  }
  auto fit = sweep::fit_costs(s.samples, a.reference.empty() ? s.reference : a.reference,
                              fmt::format("{} ({} tasks, written by qsweep {})", a.costs_from, s.samples.size(),
                                          writing_version(store)));
  fmt::print("cost model fitted from {}: {} tasks{}{}; seconds of {}\n", a.costs_from, s.samples.size(),
             s.skipped_groups ? fmt::format(", {} task-group rows left out", s.skipped_groups) : "",
             s.skipped_unplanned ? fmt::format(", {} rows the plan does not describe left out", s.skipped_unplanned) : "",
             fit.reference);
  fmt::print("{}\n", sweep::format_fit_errors(sweep::fit_errors(fit, s.samples)));
  if (!a.save_costs.empty()) {
    sweep::save_cost_fit(fit, a.save_costs);
    fmt::print("fit written to {}\n\n", a.save_costs);
  }
  return fit;
}

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
             "a_calib", "wbit", "abit", "cost s", "group", "ranks (predicted)");
  for (size_t i : order) {
    const auto& t = tasks[i];
    const std::string rs = fmt::format("{}", fmt::join(ranks_of[i], ","));
    fmt::print("{:<16}  {:<16} {:<10} {:<20} {:<20} {:>4} {:>4} {:>8.1f} {:>5}  {}\n", t.id, t.cell.model, t.cell.backend,
               t.cell.w_calib, t.cell.a_calib, t.cell.wbit, t.cell.abit, t.cost, groups[i], rs);
  }
  const int grouped = static_cast<int>(std::count_if(groups.begin(), groups.end(), [](int g) { return g > 1; }));
  fmt::print("predicted makespan {:.1f} s = {:.3f} x ideal (sum of costs / {} ranks = {:.1f} s); "
             "{} task(s) in groups; one rank per task: {:.3f} x ideal\n",
             sched.makespan, sched.ideal > 0 ? sched.makespan / sched.ideal : 1.0, a.ranks, sched.ideal, grouped,
             off.ideal > 0 ? off.makespan / off.ideal : 1.0);
  fmt::print("(groups assumed to scale perfectly, so a group's real time is longer)\n");
}

void plan(const std::string& path, const SelectionArgs& selection, bool resolve, const GroupArgs& group,
          const CostArgs& cost_args) {
  const auto [spec, keep] = select(path, selection);
  const auto fit = chosen_fit(cost_args);
  sweep::PlanInputs in;
  if (resolve) {
    sweep::CellRunner runner(spec, c10::Device(c10::kCPU));
    in = runner.plan_inputs();
  } else {
    in.data = sweep::read_data_facts(spec);  // the costs as --resolve gives them, where the shard is readable
  }
  in.costs = &fit;
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
             "model", "backend", "w_calib", "a_calib", "wbit", "abit", "cost s");
  for (const auto& t : tasks) {
    if (keep && !keep(t.cell)) continue;
    fmt::print("{:<16}  {:<16} {:<10} {:<20} {:<20} {:>4} {:>4} {:>8.1f}\n", t.id, t.cell.model, t.cell.backend,
               t.cell.w_calib, t.cell.a_calib, t.cell.wbit, t.cell.abit, t.cost);
    if (!t.cell.layers.empty()) fmt::print("{:<16}  layers: {}\n", "", quant::rules_label(t.cell.layers));
    cost += t.cost;
    shown++;
  }
  fmt::print("{}: {} grid cells, {} tasks ({} duplicates removed){}, {} models; estimated {:.0f} s of task time\n",
             spec.name, spec.cells.size(), tasks.size(), spec.cells.size() - tasks.size(),
             keep ? fmt::format(", {} selected by --filter", shown) : "", spec.models.size(), cost);
  fmt::print("cost s: seconds of {} (fit: {}){}\n", fit.reference, fit.source,
             in.data.eval_images > 0 ? fmt::format("; {} eval images of {} px", in.data.eval_images, in.data.image_size)
                                     : "; the eval shard unread: 50 000 images of 224 px assumed (32 px for small_input)");
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
    CostArgs costs;
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
  add_costs_option(p, pa->costs.costs);
  auto* from = input_file(p->add_option("--costs-from", pa->costs.costs_from,
                                        "fit the cost model from the phase seconds a results file records and use it;\n"
                                        "prints predicted against measured seconds per task class"),
                          "a results file written by `qsweep run`");
  from->excludes("--costs");
  p->add_option("--save-costs", pa->costs.save_costs, "with --costs-from: write the fit (JSON) for --costs")
      ->needs(from);
  p->add_option("--costs-reference", pa->costs.reference,
                "with --costs-from: what one second of the fit is (default: 'one rank of <the rows' hosts>')")
      ->needs(from);
  p->callback([pa] {
    parse_group_size(pa->group.group_size);
    plan(pa->sweep, pa->selection, pa->resolve, pa->group, pa->costs);
  });

  struct RunArgs {
    std::string sweep;
    SelectionArgs selection;
    dist::RunOptions options;
    bool no_resume = false;
    std::string group_size = "1";
    std::string costs;
    std::optional<sweep::CostFit> fit;
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
  add_costs_option(r, a->costs);
  add_selection_options(r, a->selection);
  r->callback([a] {
    a->options.group_size = parse_group_size(a->group_size);
    if (!a->costs.empty()) {
      a->fit = sweep::load_cost_fit(a->costs);
      a->options.costs = &*a->fit;
    }
    dist::World world(nullptr, nullptr);
    a->options.resume = !a->no_resume;
    auto [spec, keep] = select(a->sweep, a->selection);
    a->options.keep = keep;
    const auto s = dist::run_sweep(world, spec, a->options);
    if (world.rank() == 0 && s.failed > 0) throw ExitCode{Exit::kFound};
  });
}

}  // namespace qsweep::cli
