#include "results/plot_svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

namespace qsweep::results {
namespace {

// Tableau 10: distinguishable, and readable by most colour-blind viewers.
const char* const kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
constexpr double kPanelW = 340, kPanelH = 250, kLeft = 52, kRight = 14, kTop = 30, kBottom = 42;
constexpr int kColumns = 3;

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

struct Scale {
  double lo, hi;   // data range
  double a0, a1;   // pixel range
  double operator()(double v) const { return a0 + (v - lo) / (hi - lo) * (a1 - a0); }
};

// "Nice" tick step (1, 2 or 5 × 10^k) giving about `n` ticks over [lo, hi].
double tick_step(double lo, double hi, int n) {
  const double raw = (hi - lo) / n;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= m * mag) return m * mag;
  }
  return 10 * mag;
}

std::pair<double, double> padded(double lo, double hi) {
  if (hi - lo < 0.5) {
    lo -= 0.5;
    hi += 0.5;
  }
  const double step = tick_step(lo, hi, 5);
  return {std::floor(lo / step) * step, std::ceil(hi / step) * step};
}

std::string row_label(const TableRow& r) {
  if (r.wbit == 32) return r.backend + " FP32";
  return fmt::format("{} {}/{} W{}A{}", r.backend, r.w_calib, r.a_calib, r.wbit, r.abit);
}

class Svg {
 public:
  Svg(double w, double h) : w_(w), h_(h) {}
  void text(double x, double y, const std::string& s, const std::string& attrs = "") {
    body_ << fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" {}>{}</text>\n", x, y, attrs, xml_escape(s));
  }
  void line(double x0, double y0, double x1, double y1, const std::string& attrs) {
    body_ << fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" {}/>\n", x0, y0, x1, y1, attrs);
  }
  void rect(double x, double y, double w, double h, const std::string& attrs) {
    body_ << fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" {}/>\n", x, y, w, h, attrs);
  }
  void circle(double x, double y, double r, const std::string& attrs) {
    body_ << fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{:.1f}\" {}/>\n", x, y, r, attrs);
  }
  void polyline(const std::vector<std::pair<double, double>>& pts, const std::string& attrs) {
    std::string p;
    for (const auto& [x, y] : pts) p += fmt::format("{:.1f},{:.1f} ", x, y);
    body_ << fmt::format("<polyline points=\"{}\" fill=\"none\" {}/>\n", p, attrs);
  }
  std::string str() const {
    return fmt::format(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:.0f}\" height=\"{1:.0f}\" viewBox=\"0 0 {0:.0f} {1:.0f}\" "
        "font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"11\">\n"
        "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{2}</svg>\n",
        w_, h_, body_.str());
  }

 private:
  double w_, h_;
  std::ostringstream body_;
};

// Frame, y grid and y tick labels of one panel; returns the y scale.
Scale panel_frame(Svg& svg, double x0, double y0, double lo, double hi, const std::string& title,
                  const std::string& y_label) {
  const Scale y{lo, hi, y0 + kPanelH - kBottom, y0 + kTop};
  const double step = tick_step(lo, hi, 5);
  for (double v = lo; v <= hi + step * 1e-6; v += step) {
    svg.line(x0 + kLeft, y(v), x0 + kPanelW - kRight, y(v), "stroke=\"#e0e0e0\"");
    svg.text(x0 + kLeft - 5, y(v) + 4, fmt::format("{:g}", std::round(v * 100) / 100), "text-anchor=\"end\"");
  }
  svg.rect(x0 + kLeft, y0 + kTop, kPanelW - kLeft - kRight, kPanelH - kTop - kBottom,
           "fill=\"none\" stroke=\"#444\"");
  svg.text(x0 + kPanelW / 2, y0 + 18, title, "text-anchor=\"middle\" font-weight=\"bold\" font-size=\"13\"");
  svg.text(x0 + 12, y0 + kPanelH / 2, y_label,
           fmt::format("text-anchor=\"middle\" transform=\"rotate(-90 {:.1f} {:.1f})\"", x0 + 12, y0 + kPanelH / 2));
  return y;
}

// Word-wrapped lines of at most `width` characters (a long warning must stay inside the picture).
std::vector<std::string> wrap(const std::string& text, size_t width) {
  std::vector<std::string> lines;
  std::istringstream words(text);
  std::string line;
  for (std::string w; words >> w;) {
    if (!line.empty() && line.size() + 1 + w.size() > width) {
      lines.push_back(line);
      line.clear();
    }
    line += (line.empty() ? "" : " ") + w;
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

// How many characters of a `font_px` sans-serif text fit in `width_px`: a bold glyph averages
// ~0.62 em, a regular one ~0.56 em (DejaVu Sans, which rsvg-convert uses here), rounded down so the
// longest line stays inside the picture.
size_t chars_fitting(double width_px, double font_px, bool bold) {
  return static_cast<size_t>(width_px / (font_px * (bold ? 0.62 : 0.56)));
}

// The table's footnotes ("† EMAQuantile as …"), wrapped to `width_px` at 11 px.
std::vector<std::string> footnote_lines(const RenderContext& context, double width_px) {
  std::vector<std::string> lines;
  for (const auto& note : context.footnotes) {
    for (auto& l : wrap(note, chars_fitting(width_px, 11, false))) lines.push_back(std::move(l));
  }
  return lines;
}

void draw_footnotes(Svg& svg, const std::vector<std::string>& lines, double y) {
  for (size_t i = 0; i < lines.size(); ++i) {
    svg.text(10, y + 14.0 * static_cast<double>(i), lines[i], "fill=\"#555\" font-size=\"11\"");
  }
}

std::vector<const TableRow*> all_rows(const ResultsTable& t) {
  std::vector<const TableRow*> out;
  for (const auto& backend : t.backends) {
    for (const auto& r : backend) out.push_back(&r);
  }
  return out;
}

}  // namespace

std::string accuracy_svg(const ResultsTable& table, const std::string& title) {
  const auto rows = all_rows(table);
  // x: distinct bit widths of the quantized rows, most bits first.
  std::vector<std::pair<int, int>> bits;
  for (const auto* r : rows) {
    if (r->wbit != 32 && std::find(bits.begin(), bits.end(), std::make_pair(r->wbit, r->abit)) == bits.end()) {
      bits.emplace_back(r->wbit, r->abit);
    }
  }
  std::stable_sort(bits.begin(), bits.end(), [](const auto& a, const auto& b) {
    return a.first + a.second != b.first + b.second ? a.first + a.second > b.first + b.second : a.first > b.first;
  });
  // Series: backend + calibrator pair, in order of first appearance.
  std::vector<std::string> series;
  for (const auto* r : rows) {
    if (r->wbit == 32) continue;
    const auto name = fmt::format("{} {}/{}", r->backend, r->w_calib, r->a_calib);
    if (std::find(series.begin(), series.end(), name) == series.end()) series.push_back(name);
  }
  const size_t n_models = table.context.models.size();
  const int columns = static_cast<int>(std::min<size_t>(kColumns, std::max<size_t>(1, n_models)));
  const int panel_rows = static_cast<int>((n_models + columns - 1) / columns);
  const double legend_h = 18.0 * ((series.size() + 2) / 3) + 24;
  const double top = 40;
  const double width = columns * kPanelW + 20;
  const auto notes = footnote_lines(table.context, width - 20);
  Svg svg(width, top + panel_rows * kPanelH + legend_h + 14.0 * static_cast<double>(notes.size()));
  svg.text(10, 24, title + " — top-1 vs bit width", "font-size=\"15\" font-weight=\"bold\"");
  for (size_t m = 0; m < n_models; ++m) {
    const double x0 = 10 + static_cast<double>(m % columns) * kPanelW;
    const double y0 = top + static_cast<double>(m / columns) * kPanelH;
    double lo = 1e9, hi = -1e9;
    std::optional<double> fp32;
    for (const auto* r : rows) {
      const auto& v = r->cells[m].top1;
      if (!v) continue;
      lo = std::min(lo, *v);
      hi = std::max(hi, *v);
      if (r->wbit == 32 && !fp32) fp32 = v;
    }
    if (lo > hi) lo = 0, hi = 100;
    const auto [ylo, yhi] = padded(lo, hi);
    const Scale y = panel_frame(svg, x0, y0, ylo, yhi, table.context.models[m], "top-1 %");
    const double plot_w = kPanelW - kLeft - kRight;
    const auto x_of = [&](size_t i) { return x0 + kLeft + plot_w * (static_cast<double>(i) + 0.5) / std::max<size_t>(1, bits.size()); };
    for (size_t i = 0; i < bits.size(); ++i) {
      svg.text(x_of(i), y0 + kPanelH - kBottom + 15, fmt::format("W{}A{}", bits[i].first, bits[i].second),
               "text-anchor=\"middle\"");
    }
    if (fp32) {
      svg.line(x0 + kLeft, y(*fp32), x0 + kPanelW - kRight, y(*fp32), "stroke=\"#777\" stroke-dasharray=\"5,4\"");
      svg.text(x0 + kPanelW - kRight - 3, y(*fp32) - 4, fmt::format("FP32 {:.2f}", *fp32),
               "text-anchor=\"end\" fill=\"#555\"");
    }
    for (size_t s = 0; s < series.size(); ++s) {
      std::vector<std::pair<double, double>> pts;
      for (size_t i = 0; i < bits.size(); ++i) {
        for (const auto* r : rows) {
          if (r->wbit != bits[i].first || r->abit != bits[i].second) continue;
          if (fmt::format("{} {}/{}", r->backend, r->w_calib, r->a_calib) != series[s] || !r->cells[m].top1) continue;
          // Series side by side around the tick, so equal values (e.g. EMAMinMax and EMAQuantile
          // rows that pick the same ranges) do not hide each other.
          const double dx = (static_cast<double>(s) - 0.5 * static_cast<double>(series.size() - 1)) * 5.0;
          pts.emplace_back(x_of(i) + dx, y(*r->cells[m].top1));
        }
      }
      const std::string colour = kPalette[s % 10];
      if (pts.size() > 1) svg.polyline(pts, fmt::format("stroke=\"{}\" stroke-width=\"1.8\"", colour));
      for (const auto& [px, py] : pts) svg.circle(px, py, 3.2, fmt::format("fill=\"{}\"", colour));
    }
    svg.text(x0 + kLeft + plot_w / 2, y0 + kPanelH - 8, "bit width (weights, activations)", "text-anchor=\"middle\"");
  }
  const double ly = top + panel_rows * kPanelH + 8;
  for (size_t s = 0; s < series.size(); ++s) {
    const double lx = 20 + static_cast<double>(s % 3) * (columns * kPanelW / 3);
    const double yy = ly + 18.0 * static_cast<double>(s / 3);
    svg.line(lx, yy, lx + 22, yy, fmt::format("stroke=\"{}\" stroke-width=\"2\"", kPalette[s % 10]));
    svg.circle(lx + 11, yy, 3.2, fmt::format("fill=\"{}\"", kPalette[s % 10]));
    svg.text(lx + 28, yy + 4, series[s]);
  }
  draw_footnotes(svg, notes, top + panel_rows * kPanelH + legend_h);
  return svg.str();
}

std::string anchor_delta_svg(const ResultsTable& table, const std::string& title, const std::string& warning) {
  const auto rows = all_rows(table);
  const size_t n_models = table.context.models.size();
  // Rows with a published number for some model, in table order.
  std::vector<const TableRow*> judged;
  double span = 0.1;
  for (const auto* r : rows) {
    bool any = false;
    for (const auto& c : r->cells) {
      if (c.delta) {
        any = true;
        span = std::max(span, std::fabs(*c.delta));
      }
    }
    if (any) judged.push_back(r);
  }
  const double bar_h = 16, label_w = 250, chart_w = 260;
  const double panel_w = label_w + chart_w + 30;
  const double panel_h = 40 + bar_h * static_cast<double>(std::max<size_t>(1, judged.size())) + 30;
  const auto warning_lines = wrap(warning, chars_fitting(panel_w, 13, true));
  const auto notes = footnote_lines(table.context, panel_w);
  const double top = 40 + 17.0 * static_cast<double>(warning_lines.size());
  const double panels_bottom = top + panel_h * static_cast<double>(std::max<size_t>(1, n_models));
  Svg svg(panel_w + 20, panels_bottom + 14.0 * static_cast<double>(notes.size()) + (notes.empty() ? 0 : 6));
  draw_footnotes(svg, notes, panels_bottom + 6);
  svg.text(10, 24, title + " — ours − published (top-1 points)", "font-size=\"15\" font-weight=\"bold\"");
  for (size_t i = 0; i < warning_lines.size(); ++i) {
    svg.text(10, 46 + 17.0 * static_cast<double>(i), warning_lines[i], "fill=\"#c00\" font-weight=\"bold\" font-size=\"13\"");
  }
  const auto [lo, hi] = padded(-span, span);
  const double bound = std::max(-lo, hi);
  for (size_t m = 0; m < n_models; ++m) {
    const double y0 = top + panel_h * static_cast<double>(m);
    const double x0 = 10 + label_w;
    const Scale x{-bound, bound, x0, x0 + chart_w};
    svg.text(10, y0 + 16, table.context.models[m], "font-weight=\"bold\" font-size=\"13\"");
    const double step = tick_step(-bound, bound, 4);
    const double bars_bottom = y0 + 30 + bar_h * static_cast<double>(judged.size());
    for (double v = -bound; v <= bound + step * 1e-6; v += step) {
      svg.line(x(v), y0 + 26, x(v), bars_bottom, "stroke=\"#e0e0e0\"");
      svg.text(x(v), bars_bottom + 14, fmt::format("{:+g}", std::round(v * 100) / 100 + 0.0), "text-anchor=\"middle\"");
    }
    svg.line(x(0), y0 + 26, x(0), bars_bottom, "stroke=\"#444\"");
    for (size_t i = 0; i < judged.size(); ++i) {
      const double yy = y0 + 30 + bar_h * static_cast<double>(i);
      svg.text(x0 - 6, yy + bar_h * 0.7, row_label(*judged[i]), "text-anchor=\"end\"");
      const auto& c = judged[i]->cells[m];
      if (!c.delta) {
        svg.text(x(0) + 4, yy + bar_h * 0.7, c.anchor ? "not run" : "no published number", "fill=\"#999\"");
        continue;
      }
      const double d = *c.delta;
      svg.rect(std::min(x(0), x(d)), yy + 2, std::fabs(x(d) - x(0)), bar_h - 4,
               fmt::format("fill=\"{}\"", d >= 0 ? "#59a14f" : "#e15759"));
      svg.text(d >= 0 ? x(d) + 3 : x(d) - 3, yy + bar_h * 0.7, fmt::format("{:+.2f}", d),
               d >= 0 ? "" : "text-anchor=\"end\"");
    }
  }
  return svg.str();
}

}  // namespace qsweep::results
