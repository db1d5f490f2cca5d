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

#include "pipeline/task.h"
#include "support/h5.h"
#include "support/h5_commit.h"
#include "support/host.h"
#include "support/version.h"

namespace qsweep::results {
namespace {

// ---- record layouts (memory side of the compound types) ----

struct RowRecord {
  const char* id;
  const char* model;
  const char* backend;
  const char* w_calib;
  const char* a_calib;
  int32_t wbit, abit;
  const char* status;
  double top1, top5;
  int64_t top1_count, top5_count, total;
  double seconds_prepare, seconds_calibrate_activations, seconds_calibrate_weights, seconds_reconstruct,
      seconds_evaluate, seconds_total;
  int32_t rank;
  const char* host;
  const char* device;
  const char* error;
  const char* started;
  const char* finished;
  const char* weights_sha256;
  const char* data_fingerprint;
  const char* deploy;
  double int_top1;
  int64_t int_top1_count;
  double agree, seconds_deploy_check;
  const char* ranks;
};

struct PlanRecord {
  const char* id;
  const char* model;
  const char* backend;
  const char* w_calib;
  const char* a_calib;
  int32_t wbit, abit;
};

struct RunRow {
  const char* qsweep_version;
  const char* git_commit;
  const char* torch_version;
  const char* host;
  const char* started;
  const char* finished;
};

#define QSWEEP_STR(T, f) add_string(#f, offsetof(T, f))
#define QSWEEP_NUM(T, type, f) add<type>(#f, offsetof(T, f))

const h5::CompoundType& row_type() {
  static const h5::CompoundType t = [] {
    h5::CompoundType c(sizeof(RowRecord));
    c.QSWEEP_STR(RowRecord, id).QSWEEP_STR(RowRecord, model).QSWEEP_STR(RowRecord, backend);
    c.QSWEEP_STR(RowRecord, w_calib).QSWEEP_STR(RowRecord, a_calib);
    c.QSWEEP_NUM(RowRecord, int32_t, wbit).QSWEEP_NUM(RowRecord, int32_t, abit);
    c.QSWEEP_STR(RowRecord, status);
    c.QSWEEP_NUM(RowRecord, double, top1).QSWEEP_NUM(RowRecord, double, top5);
    c.QSWEEP_NUM(RowRecord, int64_t, top1_count).QSWEEP_NUM(RowRecord, int64_t, top5_count);
    c.QSWEEP_NUM(RowRecord, int64_t, total);
    c.QSWEEP_NUM(RowRecord, double, seconds_prepare).QSWEEP_NUM(RowRecord, double, seconds_calibrate_activations);
    c.QSWEEP_NUM(RowRecord, double, seconds_calibrate_weights).QSWEEP_NUM(RowRecord, double, seconds_reconstruct);
    c.QSWEEP_NUM(RowRecord, double, seconds_evaluate).QSWEEP_NUM(RowRecord, double, seconds_total);
    c.QSWEEP_NUM(RowRecord, int32_t, rank);
    c.QSWEEP_STR(RowRecord, host).QSWEEP_STR(RowRecord, device).QSWEEP_STR(RowRecord, error);
    c.QSWEEP_STR(RowRecord, started).QSWEEP_STR(RowRecord, finished);
    c.QSWEEP_STR(RowRecord, weights_sha256).QSWEEP_STR(RowRecord, data_fingerprint);
    // Added after schema_version 1's first files; HDF5 matches members by name, so those files read
    // with the defaults of blank_row(); append() refuses a row with a check there.
    c.QSWEEP_STR(RowRecord, deploy).QSWEEP_NUM(RowRecord, double, int_top1);
    c.QSWEEP_NUM(RowRecord, int64_t, int_top1_count).QSWEEP_NUM(RowRecord, double, agree);
    c.QSWEEP_NUM(RowRecord, double, seconds_deploy_check);
    c.QSWEEP_STR(RowRecord, ranks);  // added with task groups (same rule)
    return c;
  }();
  return t;
}

const h5::CompoundType& plan_type() {
  static const h5::CompoundType t = [] {
    h5::CompoundType c(sizeof(PlanRecord));
    c.QSWEEP_STR(PlanRecord, id).QSWEEP_STR(PlanRecord, model).QSWEEP_STR(PlanRecord, backend);
    c.QSWEEP_STR(PlanRecord, w_calib).QSWEEP_STR(PlanRecord, a_calib);
    c.QSWEEP_NUM(PlanRecord, int32_t, wbit).QSWEEP_NUM(PlanRecord, int32_t, abit);
    return c;
  }();
  return t;
}

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
#undef QSWEEP_NUM

std::string str(const char* p) { return p ? p : ""; }

RowRecord to_record(const TaskRow& r) {
  return {r.id.c_str(), r.model.c_str(), r.backend.c_str(), r.w_calib.c_str(), r.a_calib.c_str(), r.wbit, r.abit,
          r.status.c_str(), r.top1, r.top5, r.top1_count, r.top5_count, r.total, r.seconds_prepare,
          r.seconds_calibrate_activations, r.seconds_calibrate_weights, r.seconds_reconstruct, r.seconds_evaluate,
          r.seconds_total, r.rank, r.host.c_str(), r.device.c_str(), r.error.c_str(), r.started.c_str(),
          r.finished.c_str(), r.weights_sha256.c_str(), r.data_fingerprint.c_str(), r.deploy.c_str(), r.int_top1,
          r.int_top1_count, r.agree, r.seconds_deploy_check, r.ranks.c_str()};
}

// What a member absent from the file reads as: TaskRow's defaults.
RowRecord blank_row() {
  static const TaskRow defaults;
  RowRecord r{};
  r.int_top1 = defaults.int_top1, r.agree = defaults.agree;
  return r;
}

TaskRow from_record(const RowRecord& r) {
  TaskRow t;
  t.id = str(r.id), t.model = str(r.model), t.backend = str(r.backend);
  t.w_calib = str(r.w_calib), t.a_calib = str(r.a_calib), t.wbit = r.wbit, t.abit = r.abit;
  t.status = str(r.status), t.top1 = r.top1, t.top5 = r.top5;
  t.top1_count = r.top1_count, t.top5_count = r.top5_count, t.total = r.total;
  t.seconds_prepare = r.seconds_prepare, t.seconds_calibrate_activations = r.seconds_calibrate_activations;
  t.seconds_calibrate_weights = r.seconds_calibrate_weights, t.seconds_reconstruct = r.seconds_reconstruct;
  t.seconds_evaluate = r.seconds_evaluate, t.seconds_total = r.seconds_total;
  t.rank = r.rank, t.host = str(r.host), t.device = str(r.device), t.error = str(r.error);
  t.started = str(r.started), t.finished = str(r.finished);
  t.weights_sha256 = str(r.weights_sha256), t.data_fingerprint = str(r.data_fingerprint);
  t.deploy = str(r.deploy), t.int_top1 = r.int_top1, t.int_top1_count = r.int_top1_count, t.agree = r.agree;
  t.seconds_deploy_check = r.seconds_deploy_check;
  t.ranks = str(r.ranks);
  return t;
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

TaskRow make_task_row(const TaskCell& cell, const pipeline::TaskResult& result, const RunInfo& info) {
  TaskRow r;
  r.id = cell.id, r.model = cell.model, r.backend = cell.backend;
  r.w_calib = cell.w_calib, r.a_calib = cell.a_calib, r.wbit = cell.wbit, r.abit = cell.abit;
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
  TaskRow r;
  r.id = cell.id, r.model = cell.model, r.backend = cell.backend;
  r.w_calib = cell.w_calib, r.a_calib = cell.a_calib, r.wbit = cell.wbit, r.abit = cell.abit;
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
    records.push_back({c.id.c_str(), c.model.c_str(), c.backend.c_str(), c.w_calib.c_str(), c.a_calib.c_str(),
                       c.wbit, c.abit});
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
  return read_table<PlanRecord, TaskCell>(impl_->file().dataset("plan/tasks"), plan_type(), [](const PlanRecord& r) {
    return TaskCell{str(r.id), str(r.model), str(r.backend), str(r.w_calib), str(r.a_calib), r.wbit, r.abit};
  });
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
