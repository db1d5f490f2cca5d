// ResultsStore on the h5 wrapper: record layouts of /tasks, /plan/tasks and /runs as C structs
// (strings as const char*, variable-length in the file, so h5py and pandas read them directly),
// appends that end in a flush, and read-back with "newest row per id wins".
#include "results/store.h"


#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <type_traits>

#include "pipeline/task.h"
#include "support/h5.h"
#include "support/h5_commit.h"
#include "support/host.h"
#include "support/version.h"

namespace qsweep::results {
namespace {

// ---- record layouts (memory side of the compound types) ----

// A field as the file's record holds it: strings as const char* (variable-length strings in the
// file, so h5py and pandas read them directly), numbers as they are.
template <class T>
struct Stored {
  using type = T;
};
template <>
struct Stored<std::string> {
  using type = const char*;
};

// /tasks: row_columns.def.
struct RowRecord {
#define QSWEEP_COLUMN(T, name, init) Stored<T>::type name;
#include "results/row_columns.def"
#undef QSWEEP_COLUMN
};

// /plan/tasks: cell_columns.def.
struct PlanRecord {
#define QSWEEP_COLUMN(T, name, init) Stored<T>::type name;
#include "results/cell_columns.def"
#undef QSWEEP_COLUMN
};

struct RunRow {
  const char* qsweep_version;
  const char* git_commit;
  const char* torch_version;
  const char* host;
  const char* started;
  const char* finished;
};

template <class T>
void add_member(h5::CompoundType& c, const char* name, size_t offset) {
  if constexpr (std::is_same_v<T, const char*>) {
    c.add_string(name, offset);
  } else {
    c.add<T>(name, offset);
  }
}

const h5::CompoundType& row_type() {
  static const h5::CompoundType t = [] {
    h5::CompoundType c(sizeof(RowRecord));
#define QSWEEP_COLUMN(T, name, init) add_member<Stored<T>::type>(c, #name, offsetof(RowRecord, name));
#include "results/row_columns.def"
#undef QSWEEP_COLUMN
    return c;
  }();
  return t;
}

const h5::CompoundType& plan_type() {
  static const h5::CompoundType t = [] {
    h5::CompoundType c(sizeof(PlanRecord));
#define QSWEEP_COLUMN(T, name, init) add_member<Stored<T>::type>(c, #name, offsetof(PlanRecord, name));
#include "results/cell_columns.def"
#undef QSWEEP_COLUMN
    return c;
  }();
  return t;
}

#define QSWEEP_STR(T, f) add_string(#f, offsetof(T, f))
const h5::CompoundType& run_type() {
  static const h5::CompoundType t = [] {
    h5::CompoundType c(sizeof(RunRow));
    c.QSWEEP_STR(RunRow, qsweep_version).QSWEEP_STR(RunRow, git_commit).QSWEEP_STR(RunRow, torch_version);
    c.QSWEEP_STR(RunRow, host).QSWEEP_STR(RunRow, started).QSWEEP_STR(RunRow, finished);
    return c;
  }();
  return t;
}

#undef QSWEEP_STR

std::string str(const char* p) { return p ? p : ""; }

const char* stored(const std::string& v) { return v.c_str(); }
template <class T>
T stored(T v) {
  return v;
}
void load(std::string& out, const char* p) { out = str(p); }
template <class T>
void load(T& out, T v) {
  out = v;
}

RowRecord to_record(const TaskRow& r) {
  RowRecord rec{};
#define QSWEEP_COLUMN(T, name, init) rec.name = stored(r.name);
#include "results/row_columns.def"
#undef QSWEEP_COLUMN
  return rec;
}

void null_strings(const char*& p) { p = nullptr; }
template <class T>
void null_strings(T&) {}

// What a member absent from the file reads as: TaskRow's defaults, with null strings (read as "";
// HDF5 frees the strings it read, and a null is what it may free).
RowRecord blank_row() {
  static const TaskRow defaults;
  RowRecord r = to_record(defaults);
#define QSWEEP_COLUMN(T, name, init) null_strings(r.name);
#include "results/row_columns.def"
#undef QSWEEP_COLUMN
  return r;
}

TaskRow from_record(const RowRecord& rec) {
  TaskRow t;
#define QSWEEP_COLUMN(T, name, init) load(t.name, rec.name);
#include "results/row_columns.def"
#undef QSWEEP_COLUMN
  return t;
}

PlanRecord to_plan_record(const TaskCell& c) {
  PlanRecord rec{};
#define QSWEEP_COLUMN(T, name, init) rec.name = stored(c.name);
#include "results/cell_columns.def"
#undef QSWEEP_COLUMN
  return rec;
}

TaskCell from_plan_record(const PlanRecord& rec) {
  TaskCell c;
#define QSWEEP_COLUMN(T, name, init) load(c.name, rec.name);
#include "results/cell_columns.def"
#undef QSWEEP_COLUMN
  return c;
}

// Reads every record of a table in blocks, converting each with `convert` before HDF5's strings
// are released.
// Members the file lacks keep `blank`'s values.
template <class Record, class Out, class Convert>
std::vector<Out> read_table(const h5::DataSet& ds, const h5::CompoundType& type, Convert convert,
                            const Record& blank = Record{}) {
  std::vector<Out> out;
  const size_t n = ds.size();
  constexpr size_t kBlock = 1024;
  std::vector<Record> buf(kBlock);
  for (size_t first = 0; first < n; first += kBlock) {
    const size_t k = std::min(kBlock, n - first);
    std::fill(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(k), blank);
    ds.read(type, buf.data(), first, k);
    for (size_t i = 0; i < k; ++i) out.push_back(convert(buf[i]));
    ds.reclaim(type, buf.data(), k);
  }
  return out;
}

void check_name(const std::string& what, const std::string& name, const std::string& file) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
    throw ResultsError(fmt::format("{}: {} '{}' cannot name an HDF5 group (empty, '/', '.' or '..')", file, what, name));
  }
}

}  // namespace

std::string iso8601_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

TaskRow row_of(const TaskCell& cell) {
  TaskRow r;
#define QSWEEP_COLUMN(T, name, init) r.name = cell.name;
#include "results/cell_columns.def"
#undef QSWEEP_COLUMN
  return r;
}

TaskRow make_task_row(const TaskCell& cell, const pipeline::TaskResult& result, const RunInfo& info) {
  TaskRow r = row_of(cell);
  r.status = "ok";
  r.top1 = result.accuracy.top1_percent(), r.top5 = result.accuracy.top5_percent();
  r.top1_count = result.accuracy.top1, r.top5_count = result.accuracy.top5, r.total = result.accuracy.total;
  auto sec = [&](const char* phase) {
    auto it = result.seconds.find(phase);
    return it == result.seconds.end() ? 0.0 : it->second;
  };
  r.seconds_prepare = sec("prepare");
  r.seconds_calibrate_activations = sec("calibrate_activations");
  r.seconds_calibrate_weights = sec("calibrate_weights");
  r.seconds_reconstruct = sec("reconstruct");
  r.seconds_evaluate = sec("evaluate");
  if (result.seconds.count("calibrate_activations")) r.a_stats = result.activation_stats_reused ? "cached" : "computed";
  r.seconds_total = result.seconds.count("total")
                        ? sec("total")
                        : r.seconds_prepare + r.seconds_calibrate_activations + r.seconds_calibrate_weights +
                              r.seconds_reconstruct + r.seconds_evaluate;
  r.rank = info.rank, r.host = info.host, r.device = info.device;
  r.ranks = info.ranks.empty() ? std::to_string(info.rank) : info.ranks;
  r.started = info.started, r.finished = info.finished;
  r.weights_sha256 = info.weights_sha256, r.data_fingerprint = info.data_fingerprint;
  if (result.deploy) {
    const auto& d = *result.deploy;
    r.deploy = d.ran() ? d.engine : "refused: " + d.refused;
    if (d.ran()) {
      r.int_top1 = d.integer.top1_percent(), r.int_top1_count = d.integer.top1;
      r.agree = d.agreement();
    }
    r.seconds_deploy_check = d.seconds;
    if (!result.seconds.count("total")) r.seconds_total += d.seconds;
  }
  return r;
}

TaskRow make_failed_row(const TaskCell& cell, const std::string& error, const RunInfo& info) {
  TaskRow r = row_of(cell);
  r.status = "failed";
  r.error = error;
  r.rank = info.rank, r.host = info.host, r.device = info.device;
  r.ranks = info.ranks.empty() ? std::to_string(info.rank) : info.ranks;
  r.started = info.started, r.finished = info.finished;
  r.weights_sha256 = info.weights_sha256, r.data_fingerprint = info.data_fingerprint;
  return r;
}

// ---- ResultsStore ----

namespace {

// Runs `commit`; a commit that failed says that the rows already written are intact.
template <class Commit>
void committed(Commit&& commit) {
  try {
    commit();
  } catch (const h5::CommitError& e) {
    throw ResultsError(fmt::format("{} (every row written before is intact)", e.what()));
  }
}

}  // namespace

std::unique_ptr<h5::WriterLock> lock_for_writing(const std::string& path) {
  return std::make_unique<h5::WriterLock>(path, "results file", "give this run another --results file");
}

struct ResultsStore::Impl {
  std::string path;
  Mode mode;
  std::unique_ptr<h5::WriterLock> lock;  // kAppend: held for the store's lifetime
  RunRecord run;
  size_t run_index = 0;

  Impl(std::string p, Mode m) : path(std::move(p)), mode(m) {}

  void require_writable() const {
    if (mode != Mode::kAppend) throw ResultsError(path + ": opened read-only");
  }

  // The file as last committed, opened read-only on first use after each change (a change
  // replaces the file, so a handle opened before it would read the old one).
  const h5::File& file() const {
    if (!reader) reader.emplace(h5::File::open(path, h5::File::Mode::kReadOnly));
    return *reader;
  }

  // One atomic change (support/h5_commit.h): `edit` works on the file in memory, whose image
  // then replaces the file on disk.
  template <class Edit>
  void change(Edit&& edit) {
    require_writable();
    reader.reset();
    committed([&] { h5::change_atomically(path, edit); });
  }

  void write_run_root_attributes(h5::File& f) const {
    f.set_attribute("qsweep_version", run.qsweep_version);
    f.set_attribute("git_commit", run.git_commit);
    f.set_attribute("torch_version", run.torch_version);
    f.set_attribute("host", run.host);
    f.set_attribute("started", run.started);
    f.set_attribute("finished", run.finished);
  }

  RunRow run_row() const {
    return {run.qsweep_version.c_str(), run.git_commit.c_str(), run.torch_version.c_str(),
            run.host.c_str(), run.started.c_str(), run.finished.c_str()};
  }

 private:
  mutable std::optional<h5::File> reader;
};

namespace {

void create_parent(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) throw ResultsError(fmt::format("{}: cannot create folder '{}': {}", path, parent.string(), ec.message()));
}

// A new, empty results file at `path`, written whole (a crash leaves none).
void create_file(const std::string& path) {
  committed([&] {
    h5::create_atomically(path, kSchemaVersion, [](h5::File& f) {
      f.set_attribute("created", iso8601_now());
      f.create_table("tasks", row_type());
      f.create_table("runs", run_type(), 16);
    });
  });
}

}  // namespace

ResultsStore::ResultsStore(const std::string& path, Mode mode) {
  impl_ = std::make_unique<Impl>(path, mode);
  if (mode == Mode::kAppend) {
    create_parent(path);
    impl_->lock = lock_for_writing(path);
    if (!std::filesystem::exists(path)) create_file(path);
  } else if (!std::filesystem::exists(path)) {
    throw ResultsError(path + ": no such results file");
  }
  const h5::File& f = impl_->file();
  if (!f.has_attribute("schema_version")) throw ResultsError(path + ": no schema_version; not a qsweep results file");
  const int schema = f.schema_version();
  if (schema != kSchemaVersion) {
    throw ResultsError(fmt::format("{}: schema_version {}, this qsweep reads and writes schema_version {}", path,
                                   schema, kSchemaVersion));
  }
  for (const char* table : {"tasks", "runs"}) {
    if (!f.exists(table)) {
      throw ResultsError(fmt::format("{}: no /{} table; not a qsweep results file (or one written only in part)",
                                     path, table));
    }
  }
  if (mode == Mode::kAppend) {
    auto& run = impl_->run;
    run = {version(), *git_commit() ? git_commit() : "unknown", torch_version(), host_name(), iso8601_now(), ""};
    impl_->change([&](h5::File& w) {
      h5::DataSet runs = w.dataset("runs");
      impl_->run_index = runs.size();
      const RunRow row = impl_->run_row();
      runs.append(run_type(), &row, 1);
      impl_->write_run_root_attributes(w);
    });
  }
}

ResultsStore::~ResultsStore() = default;
ResultsStore::ResultsStore(ResultsStore&&) noexcept = default;
ResultsStore& ResultsStore::operator=(ResultsStore&&) noexcept = default;

const std::string& ResultsStore::path() const { return impl_->path; }

void ResultsStore::write_plan(const std::string& sweep_name, const std::string& sweep_text,
                              const std::string& plan_json, const std::vector<TaskCell>& planned) {
  std::vector<PlanRecord> records;
  records.reserve(planned.size());
  for (const auto& c : planned) {
    records.push_back(to_plan_record(c));
  }
  impl_->change([&](h5::File& f) {
    f.set_attribute("sweep", sweep_name);
    f.write("sweep/text", sweep_text);
    f.write("plan/json", plan_json);
    if (f.exists("plan/tasks")) f.remove("plan/tasks");
    h5::DataSet table = f.create_table("plan/tasks", plan_type(), 256);
    table.append(plan_type(), records.data(), records.size());
  });
}

void ResultsStore::append(const TaskRow& row, const std::vector<pipeline::QuantizerRecord>& quantizers) {
  impl_->require_writable();
  check_name("task id", row.id, impl_->path);
  if (row.status != "ok" && row.status != "failed") {
    throw ResultsError(fmt::format("{}: task {}: status '{}', expected 'ok' or 'failed'", impl_->path, row.id,
                                   row.status));
  }
  for (const auto& q : quantizers) check_name("quantizer name", q.name, impl_->path);
  if (!row.deploy.empty() && !impl_->file().dataset("tasks").has_member("deploy")) {
    // HDF5 would drop the columns the table lacks without a word.
    throw ResultsError(fmt::format("{}: task {}: this file's /tasks table predates the deployment check's columns "
                                   "and cannot hold its figures; write to a new results file (--new-file)",
                                   impl_->path, row.id));
  }
  if (row.ranks.find(',') != std::string::npos && !impl_->file().dataset("tasks").has_member("ranks")) {
    throw ResultsError(fmt::format("{}: task {}: this file's /tasks table predates task groups and cannot record "
                                   "the ranks {} that ran it; write to a new results file (--new-file)",
                                   impl_->path, row.id, row.ranks));
  }
  if (!row.layers.empty() && !impl_->file().dataset("tasks").has_member("layers")) {
    throw ResultsError(fmt::format("{}: task {}: this file's /tasks table predates per-layer overrides and cannot "
                                   "record the rules '{}'; write to a new results file (--new-file)",
                                   impl_->path, row.id, row.layers));
  }
  impl_->change([&](h5::File& f) {
    // Quantizer groups first: a row in /tasks implies its groups are complete.
    const std::string task_path = "task/" + row.id;
    if (f.exists(task_path)) f.remove(task_path);
    for (const auto& q : quantizers) {
      h5::Group g = f.group(task_path + "/quantizers/" + q.name);
      g.write("scale", q.scale);
      g.write("zero_point", q.zero_point);
      g.write("min", q.min_val);
      g.write("max", q.max_val);
      g.set_attribute("bits", static_cast<int32_t>(q.bits));
      g.set_attribute("qmin", static_cast<int64_t>(q.qmin));
      g.set_attribute("qmax", static_cast<int64_t>(q.qmax));
      g.set_attribute("is_weight", static_cast<int32_t>(q.is_weight ? 1 : 0));
      g.set_attribute("sqnr_db", q.sqnr_db);
    }
    const RowRecord record = to_record(row);
    f.dataset("tasks").append(row_type(), &record, 1);
  });
}

void ResultsStore::append(const TaskRow& row) { append(row, {}); }

void ResultsStore::finish() {
  impl_->require_writable();
  impl_->run.finished = iso8601_now();
  const RunRow row = impl_->run_row();
  impl_->change([&](h5::File& f) {
    f.dataset("runs").write(run_type(), &row, impl_->run_index, 1);
    impl_->write_run_root_attributes(f);
  });
}

std::vector<TaskRow> ResultsStore::all_rows() const {
  return read_table<RowRecord, TaskRow>(impl_->file().dataset("tasks"), row_type(), from_record, blank_row());
}

std::vector<TaskRow> ResultsStore::rows() const {
  std::vector<TaskRow> out;
  std::map<std::string, size_t> index;
  for (auto& r : all_rows()) {
    auto [it, fresh] = index.emplace(r.id, out.size());
    if (fresh) {
      out.push_back(std::move(r));
    } else {
      out[it->second] = std::move(r);
    }
  }
  return out;
}

std::optional<TaskRow> ResultsStore::latest(const std::string& id) const {
  std::optional<TaskRow> found;
  for (auto& r : all_rows()) {
    if (r.id == id) found = std::move(r);
  }
  return found;
}

std::vector<TaskCell> ResultsStore::plan() const {
  if (!impl_->file().exists("plan/tasks")) return {};
  return read_table<PlanRecord, TaskCell>(impl_->file().dataset("plan/tasks"), plan_type(), from_plan_record);
}

void ResultsStore::set_dataset(const std::string& dataset) {
  impl_->change([&](h5::File& f) { f.set_attribute("dataset", dataset); });
}

std::string ResultsStore::dataset() const {
  return impl_->file().has_attribute("dataset") ? impl_->file().attribute<std::string>("dataset") : "";
}

std::string ResultsStore::sweep_name() const {
  return impl_->file().has_attribute("sweep") ? impl_->file().attribute<std::string>("sweep") : "";
}

std::string ResultsStore::sweep_text() const {
  return impl_->file().exists("sweep/text") ? impl_->file().read<std::string>("sweep/text") : "";
}

std::string ResultsStore::plan_json() const {
  return impl_->file().exists("plan/json") ? impl_->file().read<std::string>("plan/json") : "";
}

std::vector<RunRecord> ResultsStore::runs() const {
  return read_table<RunRow, RunRecord>(impl_->file().dataset("runs"), run_type(), [](const RunRow& r) {
    return RunRecord{str(r.qsweep_version), str(r.git_commit), str(r.torch_version),
                     str(r.host),           str(r.started),    str(r.finished)};
  });
}

std::vector<pipeline::QuantizerRecord> ResultsStore::quantizers(const std::string& id) const {
  std::vector<pipeline::QuantizerRecord> out;
  const h5::File& f = impl_->file();
  const std::string base = "task/" + id + "/quantizers";
  if (!f.exists(base)) return out;
  for (const auto& name : f.children(base)) {
    h5::Group g = f.open_group(base + "/" + name);
    pipeline::QuantizerRecord q;
    q.name = name;
    q.scale = g.read<std::vector<float>>("scale");
    q.zero_point = g.read<std::vector<int32_t>>("zero_point");
    q.min_val = g.read<std::vector<float>>("min");
    q.max_val = g.read<std::vector<float>>("max");
    q.bits = g.attribute<int32_t>("bits");
    q.qmin = g.attribute<int64_t>("qmin");
    q.qmax = g.attribute<int64_t>("qmax");
    q.is_weight = g.attribute<int32_t>("is_weight") != 0;
    if (g.has_attribute("sqnr_db")) q.sqnr_db = g.attribute<double>("sqnr_db");  // absent before schema 1.1
    out.push_back(std::move(q));
  }
  return out;
}

}  // namespace qsweep::results
