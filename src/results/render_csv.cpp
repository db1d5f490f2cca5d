// CSV (RFC 4180), one header and every backend's rows in one table:
//
//   W_calibration,A_calibration,Backend,wbit,abit,resnet18,resnet50
//   None,None,Academic,32,32,71.06,77.94
//
// With anchors each model has three columns: <model>,<model>_published,<model>_delta; with
// --deploy two more: <model>_int (integer top-1, or "refused") and <model>_int_gap (integer −
// simulated). A missing value is "-", a failed cell "failed" (pandas: read_csv(path,
// na_values=["-", "failed"])). Nothing but the header and the rows: warnings and footnotes go to
// stderr.
#include <ostream>
#include <string>

#include "results/renderer.h"
#include "support/strings.h"

namespace qsweep::results {
namespace {

class CsvRenderer final : public Renderer {
 public:
  explicit CsvRenderer(std::ostream& out) : out_(out) {}

  void begin(const RenderContext& context) override {
    context_ = context;
    // A warning (anchors of another dataset) is not written here: CSV is data, and a comment line
    // is read as a row by pandas' read_csv; `qsweep render` prints it on stderr.
    std::vector<std::string> header = {"W_calibration", "A_calibration", "Backend", "wbit", "abit"};
    for (const auto& m : context.models) {
      header.push_back(m);
      if (context.anchors) {
        header.push_back(m + "_published");
        header.push_back(m + "_delta");
      }
      if (context.deploy) {
        header.push_back(m + "_int");
        header.push_back(m + "_int_gap");
      }
    }
    line(header);
  }

  void rows(const std::vector<TableRow>& rows) override {
    for (const auto& row : rows) {
      auto cells = key_cells(row);
      for (const auto& c : row.cells) {
        cells.push_back(c.failed ? "failed" : format_percent(c.top1));
        if (context_.anchors) {
          cells.push_back(format_percent(c.anchor));
          cells.push_back(format_delta(c.delta));
        }
        if (context_.deploy) {
          cells.push_back(c.deploy_refused ? "refused" : format_percent(c.int_top1));
          cells.push_back(format_delta(c.int_gap));
        }
      }
      line(cells);
    }
  }

  void finish() override { out_.flush(); }

 private:
  void line(const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) out_ << (i ? "," : "") << csv_quote(cells[i]);
    out_ << "\n";
  }

  std::ostream& out_;
  RenderContext context_;
};

}  // namespace

std::unique_ptr<Renderer> make_csv_renderer(std::ostream& out) { return std::make_unique<CsvRenderer>(out); }

}  // namespace qsweep::results
