// Two results files side by side (`qsweep compare A.h5 B.h5`): the cells both have with B − A,
// the cells only one has, and what differs in their provenance (commits, LibTorch, weights, data).
//
//   auto c = results::compare_results(a, b);
//   results::print_comparison(c, {.max_delta = 0.1}, std::cout);
//   bool ok = results::comparison_passes(c, {.max_delta = 0.1});
//
// Cells are matched by what they compute, not by task id (an id also hashes the weights and the
// data, which is what a comparison wants to report, not to be blind to): model, backend,
// calibrators, bits and the resolved options of the stored plan.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "results/store.h"

namespace qsweep::results {

struct ComparedCell {
  std::string label;  // "resnet18 Academic MinMax/EMAMinMax W8A8"
  std::string key;    // label + options: what is matched
  std::optional<TaskRow> a, b;  // newest attempt in each file
  // B − A in top-1 points when both are ok.
  std::optional<double> delta() const;
};

struct Comparison {
  std::string a_path, b_path;
  std::vector<ComparedCell> cells;       // the table's order (backend, row, model): table_order
  std::vector<std::string> provenance;   // one line per difference ("git commit: A 1a2b… | B 3c4d…")
};

struct CompareOptions {
  double max_delta = 0;       // |B − A| above this fails
  bool allow_missing = false; // cells in only one file (or failed in one) do not fail
  // How print_comparison lists the cells: "table" (the table's order) or "delta" (largest |B − A|
  // first, then cells missing or failed in one file, then the table's order); `only_diff` leaves
  // out the cells whose printed B − A is +0.00. Neither changes what passes.
  std::string sort = "table";
  bool only_diff = false;
};

Comparison compare_results(const ResultsStore& a, const ResultsStore& b);
// The cells that break `options` (|Δ| too large, missing or failed in one file).
std::vector<const ComparedCell*> failing_cells(const Comparison& c, const CompareOptions& options);
bool comparison_passes(const Comparison& c, const CompareOptions& options);
void print_comparison(const Comparison& c, const CompareOptions& options, std::ostream& out);

}  // namespace qsweep::results
