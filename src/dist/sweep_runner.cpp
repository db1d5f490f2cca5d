// The coordinator/worker protocol. Messages are JSON texts over MPI point-to-point:
//   worker → 0  kReady   {device}                        first request for work (with the rank's device)
//   worker → 0  kReady   {}                              a group member other than its leader is free again
//   0 → worker  kTask    {index, id, cell, ranks} | {}   a task for the group `ranks` (world ranks, ascending,
//                                                        the first leads; one rank = no group), or {} = stop
//   worker → 0  kResult  {index, ranks, row, quantizers} a leader's (or lone rank's) finished task; it is free
// Rank 0's coordinator thread owns the sweep::Dispatcher (strict longest-first order, groups of one
// node first) and is the only thread touching MPI_COMM_WORLD point-to-point; rank 0's main thread
// works on tasks like any rank and, in a group, makes that group's collective calls (on a duplicate
// of MPI_COMM_WORLD), hence MPI_THREAD_MULTIPLE for groups (without it every task runs on one rank).
#include "dist/sweep_runner.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <mpi.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>

#include "dist/mpi_collective.h"
#include "dist/nccl_collective.h"
#include "dist/wire.h"
#include "pipeline/task.h"
#include "results/row_fields.h"
#include "results/store.h"
#include "support/h5_commit.h"
#include "support/host.h"
#include "support/version.h"
#include "sweep/cell_json.h"
#include "sweep/cell_runner.h"
#include "sweep/plan.h"
#include "sweep/schedule.h"

namespace qsweep::dist {
namespace {

using json = nlohmann::json;
using namespace wire;

// The cell as the results file stores it (results/cell_fields.def).
results::TaskCell task_cell(const std::string& id, const sweep::Cell& c) {
  results::TaskCell tc;
  tc.id = id, tc.model = c.model, tc.backend = c.backend, tc.w_calib = c.w_calib, tc.a_calib = c.a_calib;
  tc.wbit = c.wbit, tc.abit = c.abit, tc.layers = quant::rules_label(c.layers);
  return tc;
}
results::TaskCell task_cell(const sweep::Task& t) { return task_cell(t.id, t.cell); }

// Files a row under the cell rank 0 planned, whatever cell the worker reports (it may have
// received a damaged one: that row is a failure and must land on the planned cell).
void file_under(results::TaskRow& row, const results::TaskCell& planned) {
#define QSWEEP_COLUMN(type, name, init) row.name = planned.name;
#include "results/cell_columns.def"
#undef QSWEEP_COLUMN
}

// A worker re-derives the id of the cell it received: if the wire lost or changed anything that
// affects the number, the task fails loudly instead of computing something else under this id.
void check_task_id(const sweep::SweepSpec& spec, sweep::CellRunner& runner, const std::string& id,
                   const sweep::Cell& cell) {
  sweep::PlanInputs in;
  in.weights_sha256[cell.model] = runner.weights_sha256(cell.model);
  in.data_fingerprint = runner.data_fingerprint();
  const std::string mine = sweep::task_id(spec, cell, in);
  if (mine != id) {  // the cell first: the progress line shows only the first 200 characters
    throw DistError(fmt::format("cell {} hashes to {} here, not to the planned {} (lost on the wire, or the "
                                "ranks read different weights/shards)",
                                sweep::cell_to_json(cell), mine, id));
  }
}

std::string device_name(c10::Device d) { return d.is_cuda() ? fmt::format("cuda:{}", d.index()) : "cpu"; }

// Runs one task, given as cell JSON text, on this rank (with the rest of its group, if any); never
// throws: a failure, including a malformed cell, becomes a "failed" row (rank 0 files it under its
// own plan's cell, see record). ranks: the task's world ranks when it runs on a group.
json execute(const sweep::SweepSpec& spec, sweep::CellRunner& runner, const std::string& id,
             const std::string& cell_text, int rank, const std::string& device, const std::string& ranks,
             const support::Collective* group) {
  results::RunInfo info;
  info.rank = rank;
  info.host = host_name();
  info.device = device;
  info.ranks = ranks;
  info.started = results::iso8601_now();
  sweep::Cell cell;
  results::TaskCell tc;
  tc.id = id;
  try {
    cell = sweep::cell_from_json(cell_text);
    tc = task_cell(id, cell);
    check_task_id(spec, runner, id, cell);
    info.weights_sha256 = runner.weights_sha256(cell.model);
    info.data_fingerprint = runner.data_fingerprint();
    const auto r = runner.run(cell, group);
    info.finished = results::iso8601_now();
    return {{"row", results::row_to_json(results::make_task_row(tc, r, info))}, {"quantizers", quantizers_to_json(r.quantizers)}};
  } catch (const std::exception& e) {
    info.finished = results::iso8601_now();
    return {{"row", results::row_to_json(results::make_failed_row(tc, e.what(), info))}, {"quantizers", json::array()}};
  }
}

// The collective of one task's group: MPI always (it also bootstraps NCCL), NCCL on top of it for
// ranks whose tasks run on a GPU when the build has it.
struct GroupHandle {
  std::unique_ptr<support::Collective> mpi, nccl;
  const support::Collective* get() const { return nccl ? nccl.get() : mpi.get(); }
};

// use_nccl: the task runs on a GPU of this rank's own, and the build has NCCL.
GroupHandle open_group(const std::vector<int>& ranks, size_t index, c10::Device device, bool use_nccl) {
  GroupHandle g;
  if (ranks.size() < 2) return g;
  // Tags only need to differ among groups forming at the same time; MPI guarantees tags to 32767.
  g.mpi = make_mpi_group(ranks, static_cast<int>(index % 30000));
  if (use_nccl) g.nccl = make_nccl_group(*g.mpi, device.index());
  return g;
}

// One assignment {index, id, cell, ranks} on this rank, as a member of its group.
json run_assignment(const json& a, const sweep::SweepSpec& spec, sweep::CellRunner& runner, const World& world) {
  const int rank = world.rank();
  const c10::Device device = world.device();
  const auto ranks = a.at("ranks").get<std::vector<int>>();
  const size_t index = a.at("index");
  const bool use_nccl = device.is_cuda() && world.gpu_per_rank() && nccl_available();
  const GroupHandle group = open_group(ranks, index, device, use_nccl);
  json out = execute(spec, runner, a.at("id"), a.at("cell").dump(), rank, device_name(device),
                     ranks.size() > 1 ? fmt::format("{}", fmt::join(ranks, ",")) : "", group.get());
  out["index"] = index;
  out["ranks"] = ranks;
  return out;
}

class Progress {
 public:
  Progress(std::ostream& os, int total, double total_cost) : os_(os), total_(total), total_cost_(total_cost) {}
  void task_done(const results::TaskRow& row, double cost) {
    ++done_;
    done_cost_ += cost;
    failed_ += row.ok() ? 0 : 1;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    // Never below 0: float sums of the costs can leave total − done a hair under zero ("-0 s").
    const double eta = done_cost_ > 0 ? std::max(0.0, elapsed / done_cost_ * (total_cost_ - done_cost_)) : 0;
    std::string error = row.error.substr(0, 200);
    std::replace(error.begin(), error.end(), '\n', ' ');  // one line per task
    std::string what = row.ok() ? fmt::format("top-1 {:6.2f}  top-5 {:6.2f}", row.top1, row.top5) : "FAILED: " + error;
    if (row.ok() && !row.deploy.empty()) {
      what += std::isnan(row.int_top1) ? "  int refused" : fmt::format("  int {:6.2f}", row.int_top1);
    }
    if (!row.layers.empty()) what = "[" + row.layers + "]  " + what;
    os_ << fmt::format("[{:>3}/{}] {:<16} {:<10} {:<10} {:<20} w{:<2} a{:<2} {}  ({:.1f} s, {})  failed {}  ETA {:.0f} s\n",
                       done_, total_, row.model, row.backend, row.w_calib, row.a_calib, row.wbit, row.abit, what,
                       row.seconds_total,
                       row.ranks.find(',') == std::string::npos ? fmt::format("rank {}", row.rank) : "ranks " + row.ranks,
                       failed_, eta)
        << std::flush;
  }
  int failed() const { return failed_; }

 private:
  std::ostream& os_;
  int total_, done_ = 0, failed_ = 0;
  double total_cost_, done_cost_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// The first line where two texts differ, for the refusal of a results file of another sweep.
std::string first_difference(const std::string& a, const std::string& b) {
  std::istringstream x(a), y(b);
  std::string la, lb;
  for (int line = 1;; ++line) {
    const bool ha = static_cast<bool>(std::getline(x, la)), hb = static_cast<bool>(std::getline(y, lb));
    if (!ha && !hb) return "they differ only in line endings";
    if (!ha || !hb || la != lb) {
      return fmt::format("line {}: the file has '{}', this sweep '{}'", line, ha ? la : "(end)", hb ? lb : "(end)");
    }
  }
}

// The results file for this run: locked for writing; one written by another sweep (another
// text) is refused with the first difference named, unless `new_file` asks to move it aside
// (to <name>.<UTC time>.h5, nothing is deleted) and start afresh.
results::ResultsStore open_results(const std::string& path, const sweep::SweepSpec& spec, bool new_file) {
  namespace fs = std::filesystem;
  if (fs::exists(path)) {
    std::string stored;
    {
      const auto lock = results::lock_for_writing(path);  // a concurrent run is reported as such, not as a foreign sweep
      stored = results::ResultsStore(path, results::ResultsStore::Mode::kReadOnly).sweep_text();
    }
    if (!stored.empty() && stored != spec.text) {
      if (!new_file) {
        throw results::ResultsError(fmt::format(
            "{} holds the results of another sweep text ({}). Use another --results file, or --new-file to move "
            "this one aside and start a new one",
            path, first_difference(stored, spec.text)));
      }
      std::string stamp = results::iso8601_now();
      stamp.erase(std::remove(stamp.begin(), stamp.end(), ':'), stamp.end());
      const fs::path p(path);
      const fs::path aside = p.parent_path() / (p.stem().string() + "." + stamp + p.extension().string());
      fs::rename(p, aside);
      std::cout << fmt::format("{}: held another sweep; moved to {}\n", path, aside.string());
    }
  }
  return results::ResultsStore(path);
}

// Rank 0's own share of the work while its coordinator thread serves the other ranks: the
// coordinator posts rank 0's assignments here (at most one at a time: rank 0 is released once per
// task) and learns from done() that rank 0 is idle again.
class Mailbox {
 public:
  void put(json assignment) {
    std::lock_guard<std::mutex> lock(mu_);
    box_.push_back(std::move(assignment));
    cv_.notify_one();
  }
  void close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    cv_.notify_one();
  }
  // The next assignment; nullopt once closed and empty.
  std::optional<json> take() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !box_.empty() || closed_; });
    if (box_.empty()) return std::nullopt;
    json a = std::move(box_.front());
    box_.pop_front();
    return a;
  }
  void done() {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
  }
  bool take_done() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(done_, false);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<json> box_;
  bool closed_ = false, done_ = false;
};

// A worker rank: announce itself (with its device), run what rank 0 assigns, report, until told
// there is no more work. A group's leader reports the row; the other members only say they are free.
RunSummary work(const sweep::SweepSpec& spec, sweep::CellRunner& runner, const World& world) {
  const int rank = world.rank();
  RunSummary summary;
  send({{"device", device_name(world.device())}}, 0, kReady);
  while (true) {
    const json a = receive(0, kTask);
    if (a.empty()) break;
    const json out = run_assignment(a, spec, runner, world);
    if (a.at("ranks").at(0).get<int>() != rank) {
      send(json::object(), 0, kReady);
      continue;
    }
    summary.ran++;
    summary.failed += out["row"]["status"] == "ok" ? 0 : 1;
    send(out, 0, kResult);
  }
  return summary;
}

// Node id per rank from the ranks' host names (rank 0 only), so groups stay on one node.
std::vector<int> nodes_from_hosts(const std::vector<std::string>& hosts) {
  std::map<std::string, int> id;
  std::vector<int> nodes;
  for (const auto& h : hosts) nodes.push_back(id.emplace(h, static_cast<int>(id.size())).first->second);
  return nodes;
}

// ", 3 in task groups of up to 4 ranks" for the run's first line; "" without groups.
std::string describe_groups(const std::vector<int>& groups) {
  const auto grouped = std::count_if(groups.begin(), groups.end(), [](int g) { return g > 1; });
  if (grouped == 0) return "";
  return fmt::format(", {} in task groups of up to {} ranks", grouped, *std::max_element(groups.begin(), groups.end()));
}

// The whole plan goes into the results file before any work, so the table shows every cell.
void write_plan(results::ResultsStore& store, const sweep::SweepSpec& spec, const std::vector<sweep::Task>& tasks) {
  json plan = json::array();
  std::vector<results::TaskCell> planned;
  for (const auto& t : tasks) {
    planned.push_back(task_cell(t));
    plan.push_back({{"id", t.id}, {"cost", t.cost}, {"config", json::parse(t.config_json)}});
  }
  store.write_plan(spec.name, spec.text, plan.dump(), planned);
}

// Indices of the tasks this run does, in plan order: not left out by --filter, and (when
// resuming) without a finished row (or a failed one, with --skip-failed). Counts the others.
std::vector<size_t> tasks_to_run(const std::vector<sweep::Task>& tasks, const results::ResultsStore& store,
                                 const RunOptions& options, RunSummary& summary) {
  std::vector<size_t> queue;
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (options.keep && !options.keep(tasks[i].cell)) {
      summary.filtered++;
      continue;
    }
    const auto latest = options.resume ? store.latest(tasks[i].id) : std::nullopt;
    if (latest && (latest->ok() || !options.retry_failed)) {
      summary.skipped++;
      continue;
    }
    queue.push_back(i);
  }
  return queue;
}

// Rank 0's books, shared by its coordinator thread and its main thread: each finished task's row
// filed under the planned cell and appended to the results file, the progress line, the devices of
// the ranks, and the first write error (after which nothing more is written).
class Recorder {
 public:
  Recorder(results::ResultsStore& store, const std::vector<sweep::Task>& tasks, std::ostream& log, int to_run,
           double total_cost, int ranks)
      : store_(store), tasks_(tasks), progress_(log, to_run, total_cost), devices_(static_cast<size_t>(ranks)) {}

  void set_device(int rank, std::string device) {
    std::lock_guard<std::mutex> lock(mu_);
    devices_[static_cast<size_t>(rank)] = std::move(device);
  }

  // `out`: a task's {index, ranks, row, quantizers}, as a leader reports it.
  void record(const json& out) {
    const size_t index = out.at("index");
    const auto ranks = out.at("ranks").get<std::vector<int>>();
    auto row = results::row_from_json(out.at("row"));
    file_under(row, task_cell(tasks_[index]));
    std::lock_guard<std::mutex> lock(mu_);
    if (ranks.size() > 1) {  // the devices of the whole group, in its rank order
      std::vector<std::string> of_group;
      for (int r : ranks) of_group.push_back(devices_[static_cast<size_t>(r)]);
      row.device = fmt::format("{}", fmt::join(of_group, ","));
    }
    if (write_error_) return;
    try {
      store_.append(row, quantizers_from_json(out.at("quantizers")));
    } catch (...) {
      // A row that cannot be written (disk full, file gone): hand out no more work, let the
      // ranks stop, and report it after they have; the rows written before are intact.
      write_error_ = std::current_exception();
      return;
    }
    progress_.task_done(row, tasks_[index].cost);
  }

  bool failed_to_write() const {
    std::lock_guard<std::mutex> lock(mu_);
    return write_error_ != nullptr;
  }
  void rethrow_write_error() const {
    if (write_error_) std::rethrow_exception(write_error_);
  }
  int failed() const { return progress_.failed(); }

 private:
  mutable std::mutex mu_;
  results::ResultsStore& store_;
  const std::vector<sweep::Task>& tasks_;
  Progress progress_;
  std::vector<std::string> devices_;
  std::exception_ptr write_error_;
};

// The coordinator thread of rank 0 (sole owner of the dispatcher): hands tasks to idle ranks, rank
// 0's through the mailbox, records the rows leaders report, and stops each rank once the queue is
// empty and it is idle. Polls with a short sleep so it never spins a core.
void serve(sweep::Dispatcher& dispatcher, int size, Recorder& recorder, Mailbox& mailbox,
           const std::function<json(const sweep::Assignment&)>& assignment) {
  std::vector<bool> stopped(static_cast<size_t>(size), false);
  int stopped_count = 0;
  const auto hand_out = [&] {
    if (recorder.failed_to_write()) dispatcher.drop_all();
    while (const auto a = dispatcher.take()) {
      const json msg = assignment(*a);
      for (int r : a->ranks) {
        if (r == 0) mailbox.put(msg);
        else send(msg, r, kTask);
      }
    }
    if (!dispatcher.empty()) return;
    for (int r : dispatcher.idle()) {
      if (stopped[static_cast<size_t>(r)]) continue;
      stopped[static_cast<size_t>(r)] = true;
      ++stopped_count;
      if (r == 0) mailbox.close();
      else send(json::object(), r, kTask);
    }
  };
  hand_out();
  auto sleep = std::chrono::microseconds(500);
  while (stopped_count < size) {
    bool released = false;
    if (mailbox.take_done()) {
      dispatcher.release(0);
      released = true;
    }
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
    if (flag) {
      const json msg = receive(st.MPI_SOURCE, st.MPI_TAG);
      if (st.MPI_TAG == kResult) recorder.record(msg);
      else if (msg.contains("device")) recorder.set_device(st.MPI_SOURCE, msg.at("device").get<std::string>());
      dispatcher.release(st.MPI_SOURCE);
      released = true;
    }
    if (released) {
      hand_out();
      sleep = std::chrono::microseconds(500);
    } else {
      std::this_thread::sleep_for(sleep);
      sleep = std::min(sleep * 2, std::chrono::microseconds(20000));
    }
  }
}

}  // namespace

namespace {

// What rank 0 planned: the tasks and the results file, opened for writing.
struct Planned {
  std::vector<sweep::Task> tasks;
  std::optional<results::ResultsStore> store;
};

// Rank 0 plans (reads every checkpoint's sha256 and the shard headers, checks the per-layer rules
// on the model graphs) before any work; if that fails, every rank learns it from one collective
// instead of waiting for work forever. The results file is opened (locked, checked against this
// sweep) in the same step, so a refused file stops every rank too. Other ranks get nothing.
Planned plan_on_rank0(World& world, const sweep::SweepSpec& spec, sweep::CellRunner& runner, const std::string& path,
                      bool new_file, const sweep::CostFit* costs) {
  Planned planned;
  std::exception_ptr planning_error;
  if (world.rank() == 0) {
    try {
      auto inputs = runner.plan_inputs();
      inputs.costs = costs;
      planned.tasks = sweep::make_plan(spec, inputs);
      sweep::resolve_layer_rules(spec, spec.cells);  // a rule that matches nothing stops the run here
      planned.store = open_results(path, spec, new_file);
    } catch (...) {
      planning_error = std::current_exception();
    }
  }
  if (world.any(planning_error != nullptr)) {
    if (planning_error) std::rethrow_exception(planning_error);
    throw DistError(fmt::format("rank {}: rank 0 could not plan sweep {}", world.rank(), spec.name));
  }
  return planned;
}

// Rank 0's share of the queue. Alone, it takes every task from the dispatcher itself; with other
// ranks, a coordinator thread (serve) hands tasks out and leaves rank 0 its own through a mailbox.
void run_queue(sweep::Dispatcher& dispatcher, Recorder& recorder,
               const std::function<json(const sweep::Assignment&)>& assignment,
               const sweep::SweepSpec& spec, sweep::CellRunner& runner, const World& world) {
  dispatcher.release(0);
  if (world.size() == 1) {
    while (const auto a = dispatcher.take()) {
      recorder.record(run_assignment(assignment(*a), spec, runner, world));
      if (recorder.failed_to_write()) dispatcher.drop_all();
      dispatcher.release(0);
    }
    return;
  }
  Mailbox mailbox;
  std::thread coordinator([&] { serve(dispatcher, world.size(), recorder, mailbox, assignment); });
  while (const auto a = mailbox.take()) {
    recorder.record(run_assignment(*a, spec, runner, world));
    mailbox.done();
  }
  coordinator.join();
}

}  // namespace

RunSummary run_sweep(World& world, const sweep::SweepSpec& spec, const RunOptions& options) {
  const int rank = world.rank(), size = world.size();
  const c10::Device device = world.device();
  const int threads = options.threads > 0 ? options.threads : world.default_threads();
  at::set_num_threads(threads);
  sweep::CellRunner runner(spec, device);
  RunSummary summary;
  const auto t0 = std::chrono::steady_clock::now();

  const std::string path = options.results.empty() ? "results/" + spec.name + ".h5" : options.results;
  Planned planned = plan_on_rank0(world, spec, runner, path, options.new_file, options.costs);
  const std::vector<std::string> hosts = world.hosts();  // collective: rank 0 gets every rank's

  if (rank != 0) return work(spec, runner, world);

  std::ostream& log = options.log ? *options.log : std::cout;
  const std::vector<sweep::Task>& tasks = planned.tasks;
  results::ResultsStore& store = *planned.store;
  write_plan(store, spec, tasks);
  store.set_dataset(runner.dataset());

  const std::vector<size_t> queue = tasks_to_run(tasks, store, options, summary);
  std::vector<sweep::Task> pending;
  std::vector<double> costs;
  double total_cost = 0;
  for (size_t i : queue) {
    pending.push_back(tasks[i]);
    costs.push_back(tasks[i].cost);
    total_cost += tasks[i].cost;
  }
  // Groups need rank 0's main thread and its coordinator thread in MPI at once.
  const bool groups_allowed = size > 1 && world.thread_multiple();
  const std::vector<int> nodes = nodes_from_hosts(hosts);
  std::vector<int> groups = sweep::plan_group_sizes(spec, pending, options.group_size, size, nodes);
  if (!groups_allowed) std::fill(groups.begin(), groups.end(), 1);
  summary.planned = static_cast<int>(tasks.size());
  log << fmt::format("sweep {}: {} tasks planned, {} already done, {}{} to run on {} rank(s) x {} thread(s){}; results → {}\n",
                     spec.name, tasks.size(), summary.skipped,
                     options.keep ? fmt::format("{} left out by --filter, ", summary.filtered) : "", queue.size(), size,
                     threads, describe_groups(groups), path)
      << std::flush;
  if (size > 1 && !groups_allowed) {
    log << "this MPI gives no MPI_THREAD_MULTIPLE: every task runs on one rank (no task groups)\n" << std::flush;
  }

  Recorder recorder(store, tasks, log, static_cast<int>(queue.size()), total_cost, size);
  recorder.set_device(0, device_name(device));
  const auto assignment = [&](const sweep::Assignment& a) {
    const size_t i = queue[a.task];
    return json{{"index", i}, {"id", tasks[i].id}, {"cell", json::parse(sweep::cell_to_json(tasks[i].cell))},
                {"ranks", a.ranks}};
  };
  sweep::Dispatcher dispatcher(sweep::longest_first(costs), groups, nodes);
  run_queue(dispatcher, recorder, assignment, spec, runner, world);
  recorder.rethrow_write_error();
  store.finish();
  summary.ran = static_cast<int>(queue.size());
  summary.failed = recorder.failed();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  log << fmt::format("sweep {}: {} ran, {} failed, {} skipped in {:.1f} s → {}\n", spec.name, summary.ran,
                     summary.failed, summary.skipped, summary.seconds, path)
      << std::flush;
  return summary;
}

}  // namespace qsweep::dist
