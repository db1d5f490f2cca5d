// The results file of one sweep, `results/<sweep>.h5`, written by one process (rank 0) and read
// by anyone (qsweep render, h5py, pandas, h5dump). Appending is crash-safe by design: every
// change replaces the whole file atomically (support/h5_commit.h), so a process killed at any
// moment leaves a file that opens with every row appended so far; opening an existing file
// appends to it (resume).
//
//   results::ResultsStore store("results/demo.h5");           // creates or reopens
//   store.write_plan(sweep_yaml_text, plan_json, planned);      // before any work
//   store.append(results::make_task_row(cell, result, info), result.quantizers);
//   store.finish();                                             // records the end time
//   for (const auto& row : store.rows()) ...                    // newest row per task id
//
// Layout (schema_version 1; see docs/results.md):
//   /                   attrs schema_version, sweep, dataset, created, and the latest run's provenance:
//                       qsweep_version, git_commit, torch_version, host, started, finished
//   /runs               table: one row per process that opened the file for writing
//   /sweep/text         the sweep file text            /plan/json  the expanded plan (JSON text)
//   /plan/tasks         table: the cells (cell_columns.def: id, model, backend, w_calib, a_calib, wbit, abit, layers)
//   /tasks              table: one row per finished task attempt (TaskRow, row_columns.def; a retry appends again)
//   /task/<id>/quantizers/<name>/{scale, zero_point, min, max}  attrs bits, qmin, qmax, is_weight,
//                       sqnr_db (absent in files written before it was measured)
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "results/results_error.h"

namespace qsweep::h5 {
class WriterLock;
}

namespace qsweep::pipeline {
struct TaskResult;
struct QuantizerRecord;
}  // namespace qsweep::pipeline

namespace qsweep::results {

inline constexpr int kSchemaVersion = 1;

// One table cell of a sweep: what the task computes, and its stable id (cell_fields.def).
struct TaskCell {
#define QSWEEP_COLUMN(type, name, init) type name = init;
#include "results/cell_columns.def"
#undef QSWEEP_COLUMN
};

// Where and when a task ran, and what it ran on (provenance per task).
struct RunInfo {
  int rank = 0;
  std::string host, device;  // device: "cpu", "cuda:0"; a task group's: one per rank, "cuda:0,cuda:1"
  std::string started, finished;  // ISO 8601 UTC
  std::string weights_sha256, data_fingerprint;
  std::string ranks;  // a task group's world ranks, "2,3,4" (its first leads); "" = `rank` alone
};

// One row of /tasks (row_columns.def: the cell's fields, row_fields.def's, then cell fields added
// later), the same names as the HDF5 columns.
struct TaskRow {
#define QSWEEP_COLUMN(type, name, init) type name = init;
#include "results/row_columns.def"
#undef QSWEEP_COLUMN

  bool ok() const { return status == "ok"; }
  TaskCell cell() const {
    TaskCell c;
#define QSWEEP_COLUMN(type, name, init) c.name = name;
#include "results/cell_columns.def"
#undef QSWEEP_COLUMN
    return c;
  }
};

// Calls fn(name, member) for every field of `row` (TaskRow or const TaskRow), in column order:
// the one walk every encoder (HDF5, JSON, export) is written over.
template <class Row, class Fn>
void for_each_field(Row& row, Fn&& fn) {
#define QSWEEP_COLUMN(type, name, init) fn(#name, row.name);
#include "results/row_columns.def"
#undef QSWEEP_COLUMN
}

// A row of `cell` with every other field at its default.
TaskRow row_of(const TaskCell& cell);
// The row of a task that finished: accuracy, phase times and the run's provenance.
TaskRow make_task_row(const TaskCell& cell, const pipeline::TaskResult& result, const RunInfo& info);
// The row of a task that threw: status "failed" and the error text.
TaskRow make_failed_row(const TaskCell& cell, const std::string& error, const RunInfo& info);

// Provenance of one process that wrote to the file (a row of /runs).
struct RunRecord {
  std::string qsweep_version, git_commit, torch_version, host, started, finished;
};

// "2026-11-27T10:31:58Z" for now (UTC).
std::string iso8601_now();
// Holds the results file's writer lock (support/h5_commit.h) while alive: a second `qsweep run`
// on the same file is refused with the first one's pid and host.
std::unique_ptr<h5::WriterLock> lock_for_writing(const std::string& path);

class ResultsStore {
 public:
  enum class Mode { kAppend, kReadOnly };
  // kAppend creates the file (and its folder) when missing, else reopens it to append; either
  // way a /runs row records this process. kReadOnly opens an existing file only.
  explicit ResultsStore(const std::string& path, Mode mode = Mode::kAppend);
  ~ResultsStore();
  ResultsStore(ResultsStore&&) noexcept;
  ResultsStore& operator=(ResultsStore&&) noexcept;

  const std::string& path() const;

  // The sweep's name, its file text and the expanded plan; replaces any earlier plan.
  void write_plan(const std::string& sweep_name, const std::string& sweep_text, const std::string& plan_json,
                  const std::vector<TaskCell>& planned);
  // The dataset the sweep evaluates on ("imagenet", "fashion-mnist": the eval shard's source
  // kind), so that published anchors of another dataset are not silently set beside its numbers.
  void set_dataset(const std::string& dataset);
  // "" for files written before the dataset was recorded.
  std::string dataset() const;
  // Appends one row, after writing the task's quantizer groups (replacing those of an earlier
  // attempt), then flushes.
  void append(const TaskRow& row, const std::vector<pipeline::QuantizerRecord>& quantizers);
  // A row without quantizers (failed tasks, FP32 rows); callers need not include pipeline/task.h.
  void append(const TaskRow& row);
  // Records this run's end time (in /runs and the root attributes) and flushes.
  void finish();

  // Every appended row, in file order.
  std::vector<TaskRow> all_rows() const;
  // The newest row of each task id, in order of each id's first appearance.
  std::vector<TaskRow> rows() const;
  std::optional<TaskRow> latest(const std::string& id) const;
  // The planned cells (empty when no plan was written).
  std::vector<TaskCell> plan() const;
  std::string sweep_name() const;
  std::string sweep_text() const;
  std::string plan_json() const;
  std::vector<RunRecord> runs() const;
  // The quantizers stored for a task, in name order.
  std::vector<pipeline::QuantizerRecord> quantizers(const std::string& id) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qsweep::results
