// The table model that renderers format: rows, columns, labels and (optionally) anchor deltas,
// all decided here so that renderers only format (STYLE rule 10).
//
//   ResultsTable t = build_table(store.rows(), store.plan(), &anchors);   // anchors may be null
//   render(t, *make_renderer("rst", std::cout));
//
// Columns: the models of the results and the plan, known table models first in the seed's order
// (resnet18, resnet50, mobilenetv2_1.0, regnetx600m, regnetx800m), others after in order of
// appearance. One table per backend (Academic, TensorRT, then others). Rows in the seed's order:
// FP32, then the 8/8 rows, the 4/8 rows, then the advanced-PTQ rows (4/4, 2/4, 3/3 with AdaRound,
// BRECQ, QDrop); combinations the seed does not have come after, in order of appearance.
// A cell holds the newest `ok` result of its (backend, calibrators, bits, model); a cell whose
// tasks all failed is `failed` (renders as "failed", and `qsweep render` exits 3); one planned but
// not run yet is empty (renders as "·" in rst and md, "-" in csv).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "results/anchors.h"
#include "results/store.h"

namespace qsweep::results {

struct TableCell {
  std::optional<double> top1;    // our top-1 percent
  std::optional<double> anchor;  // the published number (with --anchors)
  std::optional<double> delta;   // anchor_delta(top1, anchor) when both exist
  // With the deployment check (--deploy): the integer top-1, integer − simulated, or a refusal.
  std::optional<double> int_top1, int_gap;
  bool deploy_refused = false;
  bool failed = false;  // no ok result, and the newest attempt failed (not merely not run yet)
};

struct TableRow {
  std::string w_calib, a_calib, backend;  // table labels: "MinMax", "EMAMinMax", "Academic"
  int wbit = 32, abit = 32;
  std::vector<TableCell> cells;  // one per RenderContext::models
};

struct RenderContext {
  std::vector<std::string> models;  // column order
  bool anchors = false;             // cells carry anchor and delta
  bool deploy = false;              // cells carry the integer top-1 and its gap
  std::vector<std::string> anchor_sources;
  // Printed before the tables when not empty (each format in its own syntax): e.g. anchors of
  // another dataset than the results'.
  std::string warning;
  // Printed after the tables: what a marked label means ("† EMAQuantile as the published …").
  std::vector<std::string> footnotes;
};


struct ResultsTable {
  RenderContext context;
  std::vector<std::vector<TableRow>> backends;  // one table per backend, never empty
};

// How many cells of `table` failed (no ok result, an attempt that failed).
size_t failed_cells(const ResultsTable& table);

// Indices of `cells` in the table's reading order: backend, then row, then model (column), each
// ranked as build_table ranks it; equal cells keep their order. `qsweep compare` lists by it.
std::vector<size_t> table_order(const std::vector<TaskCell>& cells);

// How calibrators are labelled. kMarked (the default) marks a label whose numbers are not what its
// name promises ("EMAQuantile†", the legacy observer) and adds the footnote; kPublished prints the
// names the published table prints, with no mark and no footnote (the seed table's exact bytes).
enum class Labels { kMarked, kPublished };

// `deploy`: fill the cells' integer top-1 and gap from rows checked in integer arithmetic.
ResultsTable build_table(const std::vector<TaskRow>& rows, const std::vector<TaskCell>& plan,
                         const Anchors* anchors = nullptr, bool deploy = false, Labels labels = Labels::kMarked);

}  // namespace qsweep::results
