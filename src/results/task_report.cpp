#include "results/task_report.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <ostream>

#include "pipeline/task.h"
#include "quant/reconstruct/reconstruct.h"
#include "results/row_fields.h"
#include "support/cell_filter.h"

namespace qsweep::results {
namespace {

std::string range_text(const std::vector<float>& v) {
  if (v.empty()) return "-";
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  if (v.size() == 1) return fmt::format("{:.6g}", *lo);
  return fmt::format("{:.4g}..{:.4g}", *lo, *hi);
}

std::string zp_text(const std::vector<int32_t>& v) {
  if (v.empty()) return "-";
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return *lo == *hi ? fmt::format("{}", *lo) : fmt::format("{}..{}", *lo, *hi);
}

std::string sqnr_text(double db) {
  if (std::isnan(db)) return "-";
  if (std::isinf(db)) return "exact";
  return fmt::format("{:.2f}", db);
}

// The /runs row whose interval holds the row's finish time: the run (and commit) that wrote it.
std::string writing_commit(const ResultsStore& store, const TaskRow& row) {
  std::string commit;
  for (const auto& run : store.runs()) {
    if (run.started <= row.finished && (run.finished.empty() || row.finished <= run.finished)) commit = run.git_commit;
  }
  return commit.empty() ? "unknown" : commit;
}

// The id hashes an unset λ or keep probability as -1 ("the default"); a reader wants the value that
// ran. Replaces those -1s with it (display only: the stored configuration and the id are unchanged)
// and returns which keys were filled in.
std::vector<std::string> fill_reconstruction_defaults(nlohmann::json& config) {
  std::vector<std::string> filled;
  if (!config.contains("reconstruction") || !config.contains("w_calib")) return filled;
  auto& r = config["reconstruction"];
  const auto algorithm = quant::reconstruct::algorithm_from_name(config["w_calib"].get<std::string>());
  if (r.contains("round_weight") && r["round_weight"] == -1.0) {
    r["round_weight"] = quant::reconstruct::default_round_weight(config.value("arch", ""));
    filled.push_back("round_weight (λ)");
  }
  if (r.contains("drop_prob") && r["drop_prob"] == -1.0) {
    quant::reconstruct::ReconstructionConfig rc;
    rc.algorithm = algorithm;
    r["drop_prob"] = rc.keep_prob();
    filled.push_back("drop_prob (keep probability)");
  }
  return filled;
}

// The task's resolved configuration as `show` prints it, with a line naming the defaults filled in.
std::string config_of(const ResultsStore& store, const std::string& id) {
  const std::string text = store.plan_json();
  if (text.empty()) return "";
  for (const auto& t : nlohmann::json::parse(text)) {
    if (t.at("id") != id) continue;
    auto config = t.value("config", nlohmann::json::object());
    const auto filled = fill_reconstruction_defaults(config);
    std::string out = config.dump(2);
    if (!filled.empty()) {
      out += fmt::format("\n(not set in the sweep, shown as the default that ran: {}; the id hashes them as -1)",
                         fmt::join(filled, ", "));
    }
    return out;
  }
  return "";
}

std::map<std::string, std::string> filter_fields(const TaskRow& r) {
  return {{"model", r.model},     {"backend", r.backend},          {"w_calib", r.w_calib},
          {"a_calib", r.a_calib}, {"wbit", std::to_string(r.wbit)}, {"abit", std::to_string(r.abit)},
          {"status", r.status},   {"layers", r.layers.empty() ? "none" : "set"}};
}

}  // namespace

const std::vector<std::string>& task_filter_keys() {
  static const std::vector<std::string> keys = {"model",  "backend", "w_calib", "a_calib",
                                                "wbit",   "abit",    "status",  "layers"};
  return keys;
}

std::vector<std::string> matching_task_ids(const ResultsStore& store, const std::string& cell_filter) {
  const auto filter = CellFilter::parse(cell_filter, task_filter_keys());
  std::vector<std::string> ids;
  for (const auto& r : store.rows()) {
    if (filter.matches(filter_fields(r))) ids.push_back(r.id);
  }
  return ids;
}

void print_task(const ResultsStore& store, const TaskRow& r, std::ostream& out) {
  out << fmt::format("task {}: {}  [{}]\n", r.id, cell_label(r), r.status);
  if (r.ok()) {
    out << fmt::format("  top-1 {:.2f} % ({} / {})   top-5 {:.2f} % ({} / {})\n", r.top1, r.top1_count, r.total,
                       r.top5, r.top5_count, r.total);
  } else {
    out << "  error: " << r.error << "\n";
  }
  if (r.deploy.rfind("refused", 0) == 0) {
    out << "  integer arithmetic: " << r.deploy << "\n";
  } else if (!r.deploy.empty()) {
    out << fmt::format("  integer arithmetic ({}): top-1 {:.2f} % ({} / {}), {:+.2f} against the simulated; "
                       "{:.2f} % of predictions agree ({:.1f} s)\n",
                       r.deploy, r.int_top1, r.int_top1_count, r.total, r.int_top1 - r.top1, 100.0 * r.agree,
                       r.seconds_deploy_check);
  }
  out << fmt::format("  ran on rank {} of {} ({}), {} .. {}, written by commit {}\n", r.rank, r.host, r.device,
                     r.started, r.finished, writing_commit(store, r));
  out << fmt::format("  weights sha256 {}\n  data fingerprint {}\n", r.weights_sha256.empty() ? "-" : r.weights_sha256,
                     r.data_fingerprint.empty() ? "-" : r.data_fingerprint);
  out << fmt::format("  seconds: prepare {:.2f}, calibrate activations {:.2f}{}, calibrate weights {:.2f}, "
                     "reconstruct {:.2f}, evaluate {:.2f}{}; total {:.2f}\n",
                     r.seconds_prepare, r.seconds_calibrate_activations,
                     r.a_stats == "cached" ? " (statistics from this rank's cache: an earlier task calibrated them)" : "",
                     r.seconds_calibrate_weights,
                     r.seconds_reconstruct, r.seconds_evaluate,
                     r.deploy.empty() ? "" : fmt::format(", deploy check {:.2f}", r.seconds_deploy_check),
                     r.seconds_total);
  int attempts = 0;
  for (const auto& a : store.all_rows()) attempts += a.id == r.id ? 1 : 0;
  out << fmt::format("  attempts: {}\n", attempts);
  const auto config = config_of(store, r.id);
  if (!config.empty()) {
    out << "  configuration:\n";
    size_t start = 0;
    while (start < config.size()) {
      const size_t end = config.find('\n', start);
      out << "    " << config.substr(start, end == std::string::npos ? std::string::npos : end - start) << "\n";
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  const auto quantizers = store.quantizers(r.id);
  if (quantizers.empty()) {
    out << "  quantizers: none stored" << (r.wbit == 32 ? " (FP32 row)" : "") << "\n";
    return;
  }
  size_t width = 9;
  for (const auto& q : quantizers) width = std::max(width, q.name.size());
  out << fmt::format("  quantizers ({}; SQNR on the first calibration batch, all quantizers on):\n", quantizers.size());
  out << fmt::format("    {:<{}}  {:<6} {:>4} {:>11} {:>4} {:>21} {:>9} {:>21} {:>21} {:>8}\n", "quantizer", width,
                     "kind", "bits", "range", "ch", "scale", "zp", "min", "max", "SQNR dB");
  // Activations first, then weights, each in graph-name order as stored.
  for (const bool weights : {false, true}) {
    for (const auto& q : quantizers) {
      if (q.is_weight != weights) continue;
      out << fmt::format("    {:<{}}  {:<6} {:>4} {:>11} {:>4} {:>21} {:>9} {:>21} {:>21} {:>8}\n", q.name, width,
                         q.is_weight ? "weight" : "act", q.bits, fmt::format("[{},{}]", q.qmin, q.qmax), q.scale.size(),
                         range_text(q.scale), zp_text(q.zero_point), range_text(q.min_val), range_text(q.max_val),
                         sqnr_text(q.sqnr_db));
    }
  }
}

}  // namespace qsweep::results
