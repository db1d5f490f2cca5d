#include "results/export.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <map>
#include <ostream>
#include <set>

#include "pipeline/task.h"
#include "results/row_fields.h"
#include "support/strings.h"

namespace qsweep::results {
namespace {

using json = nlohmann::ordered_json;

json json_number(double v) {
  if (std::isnan(v)) return nullptr;
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

json json_value(const FieldValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* i = std::get_if<int64_t>(&v)) return *i;
  return json_number(std::get<double>(v));
}

// Each planned task's resolved configuration, by id ({} for rows without a plan entry).
std::map<std::string, json> configs_by_id(const ResultsStore& store) {
  std::map<std::string, json> out;
  const std::string text = store.plan_json();
  if (text.empty()) return out;
  for (const auto& t : json::parse(text)) out[t.at("id").get<std::string>()] = t.value("config", json::object());
  return out;
}

// "a.b.c" → scalar text, for the csv columns.
void flatten(const json& j, const std::string& prefix, std::map<std::string, std::string>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) flatten(it.value(), prefix + "." + it.key(), out);
    return;
  }
  out[prefix] = j.is_string() ? j.get<std::string>() : j.dump();
}

void write_csv_line(std::ostream& out, const std::vector<std::string>& cells) {
  for (size_t i = 0; i < cells.size(); ++i) out << (i ? "," : "") << csv_quote(cells[i]);
  out << "\n";
}

}  // namespace

std::vector<std::string> export_format_names() { return {"csv", "jsonl"}; }

ExportFormat export_format(const std::string& name) {
  if (name == "csv") return ExportFormat::kCsv;
  if (name == "jsonl") return ExportFormat::kJsonl;
  throw ResultsError(unknown_name_message("export format", name, export_format_names()));
}

void export_tasks(const ResultsStore& store, ExportFormat format, std::ostream& out, const ExportOptions& options) {
  const auto rows = options.all_attempts ? store.all_rows() : store.rows();
  const auto configs = configs_by_id(store);
  if (format == ExportFormat::kJsonl) {
    for (const auto& r : rows) {
      json j = json::object();
      for (const auto& f : row_fields(r)) j[f.name] = json_value(f.value);
      const auto c = configs.find(r.id);
      j["config"] = c == configs.end() ? json::object() : c->second;
      out << j.dump() << "\n";
    }
    return;
  }
  std::vector<std::map<std::string, std::string>> flat(rows.size());
  std::set<std::string> config_columns;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto c = configs.find(rows[i].id);
    if (c != configs.end()) flatten(c->second, "config", flat[i]);
    for (const auto& [k, v] : flat[i]) config_columns.insert(k);
  }
  auto header = row_field_names();
  header.insert(header.end(), config_columns.begin(), config_columns.end());
  write_csv_line(out, header);
  for (size_t i = 0; i < rows.size(); ++i) {
    std::vector<std::string> cells;
    for (const auto& f : row_fields(rows[i])) cells.push_back(field_text(f.value));
    for (const auto& k : config_columns) {
      const auto it = flat[i].find(k);
      cells.push_back(it == flat[i].end() ? "" : it->second);
    }
    write_csv_line(out, cells);
  }
}

void export_quantizers(const ResultsStore& store, ExportFormat format, std::ostream& out) {
  static const std::vector<std::string> header = {"id",      "model", "backend", "w_calib", "a_calib",    "wbit",
                                                  "abit",    "quantizer", "is_weight", "bits", "qmin",    "qmax",
                                                  "channel", "scale", "zero_point", "min",   "max",     "sqnr_db"};
  if (format == ExportFormat::kCsv) write_csv_line(out, header);
  for (const auto& r : store.rows()) {
    if (!r.ok()) continue;
    for (const auto& q : store.quantizers(r.id)) {
      for (size_t c = 0; c < q.scale.size(); ++c) {
        // Floats as their shortest float text (0.01, not 0.009999999776482582): what was stored.
        const auto at = [&](const std::vector<float>& v) { return c < v.size() ? v[c] : NAN; };
        const auto num = [&](const std::vector<float>& v) { return json_number(std::stod(fmt::format("{}", at(v)))); };
        const int64_t zp = c < q.zero_point.size() ? q.zero_point[c] : 0;
        if (format == ExportFormat::kCsv) {
          write_csv_line(out, {r.id, r.model, r.backend, r.w_calib, r.a_calib, fmt::format("{}", r.wbit),
                               fmt::format("{}", r.abit), q.name, q.is_weight ? "1" : "0", fmt::format("{}", q.bits),
                               fmt::format("{}", q.qmin), fmt::format("{}", q.qmax), fmt::format("{}", c),
                               fmt::format("{}", at(q.scale)), fmt::format("{}", zp), fmt::format("{}", at(q.min_val)),
                               fmt::format("{}", at(q.max_val)), fmt::format("{}", q.sqnr_db)});
          continue;
        }
        json j = {{"id", r.id},           {"model", r.model},          {"backend", r.backend},
                  {"w_calib", r.w_calib}, {"a_calib", r.a_calib},      {"wbit", r.wbit},
                  {"abit", r.abit},       {"quantizer", q.name},       {"is_weight", q.is_weight},
                  {"bits", q.bits},       {"qmin", q.qmin},            {"qmax", q.qmax},
                  {"channel", c},         {"scale", num(q.scale)}, {"zero_point", zp},
                  {"min", num(q.min_val)}, {"max", num(q.max_val)},
                  {"sqnr_db", json_number(q.sqnr_db)}};
        out << j.dump() << "\n";
      }
    }
  }
}

}  // namespace qsweep::results
