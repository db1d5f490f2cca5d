// A results row's fields by name, in /tasks column order: the one list that `qsweep export`,
// `show` and `compare` read, so a new TaskRow member is added here once (a test counts TaskRow's
// members against this list and fails when one is missing).
//
//   for (const auto& f : results::row_fields(row)) out << f.name << "=" << results::field_text(f.value);
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

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
// Strings as they are, integers in decimal, doubles as their shortest round-trip text ("inf",
// "nan" for the non-finite ones).
std::string field_text(const FieldValue& value);
// The cell in table words: "resnet18 Academic MinMax/EMAMinMax W8A8", "resnet18 Academic FP32".
std::string cell_label(const TaskRow& row);

}  // namespace qsweep::results
