// `qsweep run`: one sweep over MPI ranks (mpirun, srun, or a single process).
//
//   dist::World world(&argc, &argv);
//   RunOptions opt;  opt.results = "results/demo.h5";
//   RunSummary s = dist::run_sweep(world, sweep::load_sweep("sweeps/demo.yaml"), opt);
//
// Rank 0 expands the sweep, writes the plan into the results file before any work, and hands out
// tasks one at a time, longest expected first, from a coordinator thread that sleeps between
// polls (an idle coordinator costs no core). Every rank, rank 0 included, runs tasks; a long task
// may run on a group of ranks (RunOptions::group_size, docs/groups.md). Only rank 0
// writes the results file, appending (and flushing) each row as it arrives, so a killed run
// loses only the tasks in flight; rerunning skips tasks whose id is already `ok`.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>

#include "dist/world.h"
#include "sweep/cost_model.h"
#include "sweep/sweep_spec.h"

namespace qsweep::dist {

struct RunOptions {
  std::string results;          // default: results/<sweep>.h5
  bool resume = true;           // skip tasks whose latest row is ok
  bool retry_failed = true;     // rerun tasks whose latest row failed (when resuming)
  bool new_file = false;        // a results file of another sweep text is moved aside, not refused
  int threads = 0;              // intra-op threads per rank; 0 = cores on this node / ranks on it
  // Ranks per task where the cell does not say (`group_size` option): 1 = one rank per task,
  // 0 = auto (sweep::plan_group_sizes), N = N ranks. docs/groups.md: a group gives one rank's numbers.
  int group_size = 1;
  std::ostream* log = nullptr;  // progress (rank 0); std::cout when null
  // `--filter`: tasks whose cell it rejects are not run this time. They stay in the stored plan,
  // so the table still shows them (empty until run) and a later run without the filter does them.
  std::function<bool(const sweep::Cell&)> keep;
  // The cost model's coefficients for the schedule, the groups and the ETA (`--costs FILE`);
  // null: sweep::default_cost_fit(). Scheduling changes no number (docs/groups.md).
  const sweep::CostFit* costs = nullptr;
};

struct RunSummary {
  int planned = 0, skipped = 0, ran = 0, failed = 0, filtered = 0;
  double seconds = 0;
};

// Collective: every rank calls it. Returns the summary on rank 0 (ran/failed counts elsewhere).
RunSummary run_sweep(World& world, const sweep::SweepSpec& spec, const RunOptions& options);

}  // namespace qsweep::dist
