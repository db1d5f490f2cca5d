// reStructuredText grid tables exactly as the seed file prints them:
//
//   - Backend: Academic
//
//   +---------------+---------------+----------+------+------+----------+
//   | W_calibration | A_calibration | Backend  | wbit | abit | resnet18 |
//   +===============+===============+==========+======+======+==========+
//   | None          | None          | Academic | 32   | 32   | 71.06    |
//   +---------------+---------------+----------+------+------+----------+
//
// A column is as wide as its longest cell (header included) plus one space each side; text is
// left-aligned; tables are separated by one blank line; footnotes ("† …") follow the last table.
#include <ostream>
#include <string>

#include "results/renderer.h"

namespace qsweep::results {
namespace {

class RstRenderer final : public Renderer {
 public:
  explicit RstRenderer(std::ostream& out) : out_(out) {}

  void begin(const RenderContext& context) override {
    context_ = context;
    if (!context.warning.empty()) out_ << ".. warning:: " << context.warning << "\n\n";
    first_ = true;
  }

  void rows(const std::vector<TableRow>& rows) override {
    std::vector<std::vector<std::string>> lines = {header_cells(context_)};
    for (const auto& row : rows) {
      auto cells = key_cells(row);
      for (const auto& c : row.cells) cells.push_back(format_cell(c, context_));
      lines.push_back(std::move(cells));
    }
    std::vector<size_t> width(lines.front().size(), 0);
    for (const auto& l : lines) {
      for (size_t i = 0; i < l.size(); ++i) width[i] = std::max(width[i], text_width(l[i]));
    }
    if (!first_) out_ << "\n";
    first_ = false;
    out_ << "- Backend: " << rows.front().backend << "\n\n";
    border(width, '-');
    line(lines[0], width);
    border(width, '=');
    for (size_t i = 1; i < lines.size(); ++i) {
      line(lines[i], width);
      border(width, '-');
    }
  }

  void finish() override {
    for (const auto& note : context_.footnotes) out_ << "\n" << note << "\n";
    out_.flush();
  }

 private:
  void border(const std::vector<size_t>& width, char fill) {
    for (size_t w : width) out_ << '+' << std::string(w + 2, fill);
    out_ << "+\n";
  }

  void line(const std::vector<std::string>& cells, const std::vector<size_t>& width) {
    for (size_t i = 0; i < cells.size(); ++i) out_ << "| " << cells[i] << std::string(width[i] - text_width(cells[i]) + 1, ' ');
    out_ << "|\n";
  }

  std::ostream& out_;
  RenderContext context_;
  bool first_ = true;
};

}  // namespace

std::unique_ptr<Renderer> make_rst_renderer(std::ostream& out) { return std::make_unique<RstRenderer>(out); }

}  // namespace qsweep::results
