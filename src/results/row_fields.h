// A results row's fields by name, in /tasks column order, generated from cell_fields.def and
// row_fields.def (the one list): what `qsweep export`, `show` and `compare` read, and the JSON row
// a worker rank sends rank 0. A new column is a line in row_fields.def; nothing here changes.
//
//   for (const auto& f : results::row_fields(row)) out << f.name << "=" << results::field_text(f.value);
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "results/store.h"

namespace qsweep::results {

using FieldValue = std::variant<std::string, int64_t, double>;

struct RowField {
  const char* name;
  FieldValue value;
};

std::vector<RowField> row_fields(const TaskRow& row);
// The field names alone (the header of a tidy export).
std::vector<std::string> row_field_names();
// Every field under its column name; non-finite doubles as "nan", "inf", "-inf" (JSON has none).
nlohmann::json row_to_json(const TaskRow& row);
// The inverse of row_to_json; a missing field or a wrong type throws (nlohmann::json::exception,
// ResultsError for a number given as other text).
TaskRow row_from_json(const nlohmann::json& j);
// Strings as they are, integers in decimal, doubles as their shortest round-trip text ("inf",
// "nan" for the non-finite ones).
std::string field_text(const FieldValue& value);
// The cell in table words: "resnet18 Academic MinMax/EMAMinMax W8A8", "resnet18 Academic FP32".
std::string cell_label(const TaskRow& row);

}  // namespace qsweep::results
