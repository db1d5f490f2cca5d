// Markdown (GitHub) tables, one per backend, headed like the rst output:
//
//   - Backend: Academic
//
//   | W_calibration | A_calibration | Backend | wbit | abit | resnet18 |
//   |---|---|---|---|---|---|
//   | None | None | Academic | 32 | 32 | 71.06 |
#include <ostream>
#include <string>

#include "results/renderer.h"

namespace qsweep::results {
namespace {

class MdRenderer final : public Renderer {
 public:
  explicit MdRenderer(std::ostream& out) : out_(out) {}

  void begin(const RenderContext& context) override {
    context_ = context;
    if (!context.warning.empty()) out_ << "**Warning:** " << context.warning << "\n\n";
    first_ = true;
  }

  void rows(const std::vector<TableRow>& rows) override {
    if (!first_) out_ << "\n";
    first_ = false;
    out_ << "- Backend: " << rows.front().backend << "\n\n";
    const auto header = header_cells(context_);
    line(header);
    for (size_t i = 0; i < header.size(); ++i) out_ << "|---";
    out_ << "|\n";
    for (const auto& row : rows) {
      auto cells = key_cells(row);
      for (const auto& c : row.cells) cells.push_back(format_cell(c, context_));
      line(cells);
    }
  }

  void finish() override {
    for (const auto& note : context_.footnotes) out_ << "\n" << note << "\n";
    out_.flush();
  }

 private:
  void line(const std::vector<std::string>& cells) {
    for (const auto& c : cells) out_ << "| " << escaped(c) << " ";
    out_ << "|\n";
  }

  // Per-layer rule labels hold globs ("layer1.*.conv*"): Markdown would read a * as emphasis and
  // a | as a column break (an underscore inside a word is plain text in GitHub's Markdown).
  static std::string escaped(const std::string& cell) {
    std::string out;
    for (char ch : cell) {
      if (ch == '*' || ch == '|' || ch == '\\') out += '\\';
      out += ch;
    }
    return out;
  }

  std::ostream& out_;
  RenderContext context_;
  bool first_ = true;
};

}  // namespace

std::unique_ptr<Renderer> make_md_renderer(std::ostream& out) { return std::make_unique<MdRenderer>(out); }

}  // namespace qsweep::results
