#include "results/row_fields.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

#include "results/labels.h"

namespace qsweep::results {

namespace {

FieldValue value_of(const std::string& v) { return v; }
FieldValue value_of(int32_t v) { return int64_t{v}; }
FieldValue value_of(int64_t v) { return v; }
FieldValue value_of(double v) { return v; }

// JSON has no inf or NaN (nlohmann writes both as null): non-finite doubles travel as text.
nlohmann::json json_of(double v) {
  if (std::isfinite(v)) return v;
  return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
}
template <class T>
nlohmann::json json_of(const T& v) {
  return v;
}

void from_json_value(const nlohmann::json& j, double& out) {
  if (!j.is_string()) {
    out = j.get<double>();
    return;
  }
  const auto text = j.get<std::string>();
  if (text == "nan") out = std::numeric_limits<double>::quiet_NaN();
  else if (text == "inf") out = std::numeric_limits<double>::infinity();
  else if (text == "-inf") out = -std::numeric_limits<double>::infinity();
  else throw ResultsError(fmt::format("row JSON: '{}' is not a number", text));
}
template <class T>
void from_json_value(const nlohmann::json& j, T& out) {
  out = j.get<T>();
}

}  // namespace

std::vector<RowField> row_fields(const TaskRow& r) {
  std::vector<RowField> out;
  // Assigned in place: g++ 12 at -O3 takes the moved-from temporary of push_back({name, value})
  // for a read of the variant's inactive string (-Wmaybe-uninitialized, a false positive).
  for_each_field(r, [&](const char* name, const auto& v) {
    RowField& f = out.emplace_back();
    f.name = name;
    f.value = value_of(v);
  });
  return out;
}

nlohmann::json row_to_json(const TaskRow& r) {
  nlohmann::json j = nlohmann::json::object();
  for_each_field(r, [&](const char* name, const auto& v) { j[name] = json_of(v); });
  return j;
}

TaskRow row_from_json(const nlohmann::json& j) {
  TaskRow r;
  for_each_field(r, [&](const char* name, auto& v) { from_json_value(j.at(name), v); });
  return r;
}

std::vector<std::string> row_field_names() {
  std::vector<std::string> names;
  for (const auto& f : row_fields(TaskRow{})) names.emplace_back(f.name);
  return names;
}

std::string field_text(const FieldValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* i = std::get_if<int64_t>(&v)) return fmt::format("{}", *i);
  return fmt::format("{}", std::get<double>(v));
}

std::string cell_label(const TaskRow& r) {
  if (r.wbit == 32) return fmt::format("{} {} FP32", r.model, backend_label(r.backend));
  return fmt::format("{} {} {}/{} W{}A{}{}", r.model, backend_label(r.backend), calibrator_label(r.w_calib),
                     calibrator_label(r.a_calib), r.wbit, r.abit, r.layers.empty() ? "" : " [" + r.layers + "]");
}

}  // namespace qsweep::results
