// Predicted makespan of whole sweeps with and without task groups, as ratios to the ideal
// (Σcost ÷ ranks), from the planner's cost model and the Dispatcher the runner uses
// (sweep/schedule.h). Nothing runs: the plan is made with empty PlanInputs (ids without weights),
// so neither data nor checkpoints are needed. Perfect scaling is assumed (a task of cost c on G
// ranks takes c / G); what groups really cost is measured separately.
// With --costs-from RESULTS.h5: the cost model fitted from that file's phase seconds, and its
// predicted against measured seconds per task class (the error of the fit), before the table.
//
//   build/makespan_bench [--sweep sweeps/full_table.yaml --sweep sweeps/advanced_ptq.yaml]
//                        [--ranks 8,64,512] [--ranks-per-node 8] [--max-group 0] [--costs-from results/demo.h5]
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <ctime>
#include <iomanip>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "results/cost_samples.h"
#include "results/store.h"
#include "sweep/cost_model.h"
#include "sweep/plan.h"
#include "sweep/schedule.h"
#include "sweep/sweep_spec.h"

using namespace qsweep::sweep;

namespace {

// One table row: the sweep on `ranks` ranks, groups off (every task on one rank) and auto.
void print_row(const SweepSpec& spec, const std::vector<Task>& tasks, int ranks, int ranks_per_node, int max_group) {
  const std::string& name = spec.name;
  std::vector<double> costs;
  for (const auto& t : tasks) costs.push_back(t.cost);
  const auto order = longest_first(costs);
  const auto nodes = block_nodes(ranks, ranks_per_node);
  const Schedule off = simulate(costs, order, std::vector<int>(costs.size(), 1), nodes);
  // max_group 0: exactly the runner's `--group-size auto` (capped at the calibration batch size).
  const auto groups = max_group > 0
                          ? choose_group_sizes(costs, std::vector<int>(costs.size(), 0), ranks, max_group, nodes)
                          : plan_group_sizes(spec, tasks, 0, ranks, nodes);
  const Schedule on = simulate(costs, order, groups, nodes);
  const int largest = groups.empty() ? 0 : *std::max_element(groups.begin(), groups.end());
  fmt::print("{:<16} {:>6} {:>6} {:>10.2f} {:>12.3f} {:>12.3f} {:>8}\n", name, ranks, costs.size(),
             std::accumulate(costs.begin(), costs.end(), 0.0), off.makespan / off.ideal, on.makespan / on.ideal,
             largest);
}

// "2026-11-27T10:31:58Z" → seconds since the epoch.
double epoch_seconds(const std::string& iso) {
  std::tm tm{};
  std::istringstream in(iso);
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
  return in.fail() ? 0.0 : static_cast<double>(timegm(&tm));
}

// The error of `given` on the file's tasks, then of the file's own fit, and the makespan the file's
// fit predicts for its tasks on its ranks (longest first, one rank per task) against the one the
// rows' timestamps give. Returns the file's fit.
CostFit report_fit(const std::string& path, const CostFit& given) {
  const qsweep::results::ResultsStore store(path, qsweep::results::ResultsStore::Mode::kReadOnly);
  const auto samples = qsweep::results::cost_samples(store);
  fmt::print("{} tasks of {} (run on one rank each{}); seconds of {}\n\n", samples.samples.size(), path,
             samples.skipped_groups ? fmt::format(", {} task-group rows left out", samples.skipped_groups) : "",
             samples.reference);
  fmt::print("the fit given ({}), predicting this file's tasks:\n{}\n", given.source,
             format_fit_errors(fit_errors(given, samples.samples)));
  const auto own = fit_costs(samples.samples, samples.reference, path);
  fmt::print("a fit made from this file, predicting its own tasks:\n{}\n", format_fit_errors(fit_errors(own, samples.samples)));
  std::vector<double> costs;
  for (const auto& x : samples.samples) costs.push_back(predict(own, x.work).total());
  std::set<int> ranks;
  double first = 0, last = 0;
  for (const auto& r : store.rows()) {
    if (!r.ok()) continue;
    ranks.insert(r.rank);
    const double a = epoch_seconds(r.started), b = epoch_seconds(r.finished);
    if (a > 0 && (first == 0 || a < first)) first = a;
    last = std::max(last, b);
  }
  const int n = std::max<size_t>(1, ranks.size());
  const auto sched = simulate(costs, longest_first(costs), std::vector<int>(costs.size(), 1), block_nodes(n, n));
  fmt::print("makespan on {} rank(s): predicted {:.0f} s (every task's activation statistics computed), measured {:.0f} s "
             "(first start to last finish in the rows)\n\n",
             n, sched.makespan, last - first);
  return own;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Task-group scheduling benchmark: predicted sweep makespan with groups off and on"};
  app.footer(
      "Ratios are predicted makespan / ideal, ideal = sum of the tasks' estimated costs / ranks (a lower bound;\n"
      "1.000 is perfect balance). 'off / ideal': every task on one rank, longest first. 'on / ideal': auto\n"
      "group sizes (choose_group_sizes) under the same strict Dispatcher. Costs come from the planner's cost\n"
      "model (Task::cost, seconds of the fit's reference); perfect scaling is assumed (cost c on G ranks takes c / G), so 'on'\n"
      "is what groups could reach at best. 'largest' is the largest group in the auto grouping.");
  std::vector<std::string> sweeps = {QSWEEP_SOURCE_DIR "/sweeps/full_table.yaml",
                                     QSWEEP_SOURCE_DIR "/sweeps/advanced_ptq.yaml"};
  std::vector<int> ranks = {8, 64, 512};
  int ranks_per_node = 8, max_group = 0;
  app.add_option("--sweep", sweeps, "sweep files to plan (repeat the flag for several)")
      ->check(CLI::ExistingFile)
      ->capture_default_str();
  app.add_option("--ranks", ranks, "rank counts to simulate")->delimiter(',')->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--ranks-per-node", ranks_per_node, "ranks per node (rank r is on node r / this)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-group", max_group, "largest auto group; 0 = as `qsweep run --group-size auto` (ranks, at most the calibration batch size)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  std::string costs_from, costs;
  app.add_option("--costs-from", costs_from,
                 "a results file: the error per task class of the --costs fit (out of sample) and of a fit made\n"
                 "from the file itself, predicted against measured makespan; the table then uses the file's fit")
      ->check(CLI::ExistingFile);
  app.add_option("--costs", costs,
                 "the fit to judge on --costs-from, or without it the fit of the table (default: the built-in\n"
                 "sweeps/costs/demo_2core.json)")
      ->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);

  try {
    // The table's fit: the one made from --costs-from, else --costs, else the built-in one.
    std::optional<CostFit> fit;
    if (!costs.empty()) fit = load_cost_fit(costs);
    if (!costs_from.empty()) fit = report_fit(costs_from, fit ? *fit : default_cost_fit());
    fmt::print("{} rank(s) per node, largest group {}; ratios to ideal = sum(cost) / ranks\n", ranks_per_node,
               max_group > 0 ? std::to_string(max_group) : std::string("as the runner's (<= calibration batch size)"));
    fmt::print("{:<16} {:>6} {:>6} {:>10} {:>12} {:>12} {:>8}\n", "sweep", "ranks", "tasks", "sum(cost)", "off / ideal",
               "on / ideal", "largest");
    for (const auto& path : sweeps) {
      const SweepSpec spec = load_sweep(path);
      PlanInputs in;
      in.costs = fit ? &*fit : nullptr;
      const auto tasks = make_plan(spec, in);
      for (int r : ranks) print_row(spec, tasks, r, ranks_per_node, max_group);
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "makespan_bench: {}\n", e.what());
    return 2;
  }
  return 0;
}
