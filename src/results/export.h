// Tidy exports of a results file for pandas, R or a spreadsheet (`qsweep export`).
//
//   results::export_tasks(store, results::ExportFormat::kCsv, std::cout);       // one row per task
//   results::export_quantizers(store, results::ExportFormat::kJsonl, std::cout); // long form
//
// Tasks: one row per task id (its newest attempt; `all_attempts` keeps every attempt in file
// order), every row field (results/row_fields.h) and then the task's resolved configuration from
// the stored plan, flattened to `config.<path>` columns (config.options.a_p, ...). In jsonl the
// configuration stays one nested "config" object.
// Quantizers (long form): one row per quantizer and channel (per-tensor quantizers have channel
// 0 only): the task's cell, then quantizer, is_weight, bits, qmin, qmax, channel, scale,
// zero_point, min, max, sqnr_db.
// Non-finite numbers: csv writes inf / nan, jsonl writes NaN as null and +inf as the string "inf"
// (JSON has neither).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "results/store.h"

namespace qsweep::results {

enum class ExportFormat { kCsv, kJsonl };

// "csv" | "jsonl"; anything else throws ResultsError naming the known formats.
ExportFormat export_format(const std::string& name);
std::vector<std::string> export_format_names();

struct ExportOptions {
  bool all_attempts = false;  // every attempt instead of the newest per task id
};

void export_tasks(const ResultsStore& store, ExportFormat format, std::ostream& out, const ExportOptions& options = {});
void export_quantizers(const ResultsStore& store, ExportFormat format, std::ostream& out);

}  // namespace qsweep::results
