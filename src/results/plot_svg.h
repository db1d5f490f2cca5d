// Plots of a results table as standalone SVG files (`qsweep plot`), drawn from the ResultsTable
// the renderers format, so a plot shows exactly the table's numbers.
//
//   std::string svg = results::accuracy_svg(build_table(store.rows(), store.plan()), "demo");
//
// accuracy_svg: one panel per model; x: the bit widths of the table's quantized rows (W8A8, W4A8,
//   W4A4, ...; most bits left), y: top-1 %; one coloured line per backend + calibrator pair, the
//   FP32 result as a dashed grey line, a shared legend below.
// anchor_delta_svg: one panel per model; a horizontal bar per table row with a published number:
//   ours − published in points (green above, red below zero). `warning`, when not empty, is
//   printed in red across the top (e.g. results and anchors on different datasets).
#pragma once

#include <string>

#include "results/table.h"

namespace qsweep::results {

std::string accuracy_svg(const ResultsTable& table, const std::string& title);
std::string anchor_delta_svg(const ResultsTable& table, const std::string& title, const std::string& warning);

}  // namespace qsweep::results
