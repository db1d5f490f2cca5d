// Table renderers: rst (the seed file's grid tables, byte for byte), md and csv. A renderer
// formats a ResultsTable (results/table.h) and never computes: labels, order, missing cells and
// anchor deltas are decided by build_table (STYLE rule 10).
//
//   auto r = results::make_renderer("rst", std::cout);   // unknown names list the known ones
//   results::render(results::build_table(store.rows(), store.plan()), *r);
//
// Cell text: "70.93" (two decimals); "-" for a missing cell (the task failed or has not run).
// With anchors, rst and md cells read "70.93 (71.06, -0.13)" = ours (published, ours − published);
// "70.93" when there is no published number, "- (71.06)" when only the published one exists.
// csv gives each model three columns instead: <model>, <model>_published, <model>_delta.
// With --deploy, cells add " / <integer top-1> (<integer − simulated>)": "70.93 / 70.88 (-0.05)",
// " / refused" when the cell cannot run in integer arithmetic, " / -" when it was not checked;
// csv adds <model>_int and <model>_int_gap.
#pragma once

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "results/table.h"

namespace qsweep::results {

class Renderer {
 public:
  virtual ~Renderer() = default;
  // Once, before any rows: the columns and whether cells carry anchors.
  virtual void begin(const RenderContext& context) = 0;
  // One backend's table (every row has the same backend).
  virtual void rows(const std::vector<TableRow>& rows) = 0;
  // Once, after the last table.
  virtual void finish() = 0;
};

// Names accepted by make_renderer: csv, md, rst.
std::vector<std::string> renderer_names();
// Throws ResultsError for an unknown name, listing the known ones.
std::unique_ptr<Renderer> make_renderer(const std::string& format, std::ostream& out);
// begin, one rows() per backend table, finish.
void render(const ResultsTable& table, Renderer& renderer);

// Shared cell formatting (text only, no arithmetic): "70.93", "-", "70.93 (71.06, -0.13)".
std::string format_percent(const std::optional<double>& v);
std::string format_delta(const std::optional<double>& v);
// A cell as rst and md print it; a cell without a top-1 is "failed" or, not run yet, "·".
std::string format_cell(const TableCell& cell, const RenderContext& context);
// Columns a text takes in a fixed-width table: UTF-8 code points ("EMAQuantile†" is 12).
size_t text_width(const std::string& text);
// The header: W_calibration, A_calibration, Backend, wbit, abit, then the models.
std::vector<std::string> header_cells(const RenderContext& context);
// The first five cells of a row: labels and bits.
std::vector<std::string> key_cells(const TableRow& row);

// One per format file (render_<name>.cpp).
std::unique_ptr<Renderer> make_rst_renderer(std::ostream& out);
std::unique_ptr<Renderer> make_md_renderer(std::ostream& out);
std::unique_ptr<Renderer> make_csv_renderer(std::ostream& out);

}  // namespace qsweep::results
