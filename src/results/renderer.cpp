// The renderer registry (name → factory) and the cell texts every format shares.
#include "results/renderer.h"

#include <fmt/format.h>

#include <functional>
#include <utility>

#include "support/strings.h"

namespace qsweep::results {
namespace {

using Factory = std::function<std::unique_ptr<Renderer>(std::ostream&)>;

const std::vector<std::pair<std::string, Factory>>& registry() {
  static const std::vector<std::pair<std::string, Factory>> r = {
      {"csv", make_csv_renderer},
      {"md", make_md_renderer},
      {"rst", make_rst_renderer},
  };
  return r;
}

}  // namespace

std::vector<std::string> renderer_names() {
  std::vector<std::string> names;
  for (const auto& [name, f] : registry()) names.push_back(name);
  return names;
}

std::unique_ptr<Renderer> make_renderer(const std::string& format, std::ostream& out) {
  for (const auto& [name, make] : registry()) {
    if (name == format) return make(out);
  }
  throw ResultsError(unknown_name_message("table format", format, renderer_names()));
}

void render(const ResultsTable& table, Renderer& renderer) {
  renderer.begin(table.context);
  for (const auto& rows : table.backends) {
    if (!rows.empty()) renderer.rows(rows);
  }
  renderer.finish();
}

std::string format_percent(const std::optional<double>& v) { return v ? fmt::format("{:.2f}", *v) : "-"; }

std::string format_delta(const std::optional<double>& v) { return v ? fmt::format("{:+.2f}", *v) : "-"; }

std::string format_cell(const TableCell& cell, const RenderContext& context) {
  std::string s = cell.top1 ? format_percent(cell.top1) : cell.failed ? "failed" : "·";
  if (context.anchors && cell.anchor) {
    s = cell.delta ? fmt::format("{} ({:.2f}, {})", s, *cell.anchor, format_delta(cell.delta))
                   : fmt::format("{} ({:.2f})", s, *cell.anchor);
  }
  if (!context.deploy || !cell.top1) return s;
  if (cell.deploy_refused) return s + " / refused";
  if (!cell.int_top1) return s + " / -";
  return fmt::format("{} / {} ({})", s, format_percent(cell.int_top1), format_delta(cell.int_gap));
}

size_t text_width(const std::string& text) {
  size_t n = 0;
  for (unsigned char ch : text) n += (ch & 0xC0) != 0x80 ? 1 : 0;  // count lead bytes, not continuations
  return n;
}

std::vector<std::string> header_cells(const RenderContext& context) {
  std::vector<std::string> h = {"W_calibration", "A_calibration", "Backend", "wbit", "abit"};
  h.insert(h.end(), context.models.begin(), context.models.end());
  return h;
}

std::vector<std::string> key_cells(const TableRow& row) {
  return {row.w_calib, row.a_calib, row.backend, std::to_string(row.wbit), std::to_string(row.abit)};
}

}  // namespace qsweep::results
