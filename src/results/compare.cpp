#include "results/compare.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <ostream>
#include <set>

#include "results/labels.h"
#include "results/results_error.h"
#include "results/table.h"
#include "results/row_fields.h"
#include "support/strings.h"

namespace qsweep::results {
namespace {

using json = nlohmann::json;

// The plan's resolved configuration without the inputs' identity (weights sha256, data
// fingerprint): two files that ran the same settings on other inputs compare cell by cell.
std::map<std::string, std::string> settings_by_id(const ResultsStore& store) {
  std::map<std::string, std::string> out;
  const std::string text = store.plan_json();
  if (text.empty()) return out;
  for (const auto& t : json::parse(text)) {
    json c = t.value("config", json::object());
    c.erase("weights_sha256");
    c.erase("data_fingerprint");
    out[t.at("id").get<std::string>()] = c.dump();
  }
  return out;
}

std::vector<std::pair<std::string, TaskRow>> keyed_rows(const ResultsStore& store) {
  const auto settings = settings_by_id(store);
  std::vector<std::pair<std::string, TaskRow>> out;
  for (const auto& r : store.rows()) {
    const auto s = settings.find(r.id);
    out.emplace_back(cell_label(r) + (s == settings.end() ? "" : " " + s->second), r);
  }
  return out;
}

std::string summary(const std::set<std::string>& values) {
  return values.empty() ? "(none)" : join(std::vector<std::string>(values.begin(), values.end()), " ");
}

void compare_sets(const std::string& what, const std::set<std::string>& a, const std::set<std::string>& b,
                  std::vector<std::string>& out) {
  if (a != b) out.push_back(fmt::format("{}: A {} | B {}", what, summary(a), summary(b)));
}

std::string short_hash(const std::string& h) { return h.substr(0, 12); }

void provenance_differences(const ResultsStore& a, const ResultsStore& b, std::vector<std::string>& out) {
  const auto runs = [](const ResultsStore& s, bool commit) {
    std::set<std::string> v;
    for (const auto& r : s.runs()) v.insert(commit ? r.git_commit : r.torch_version);
    return v;
  };
  compare_sets("git commit", runs(a, true), runs(b, true), out);
  compare_sets("LibTorch", runs(a, false), runs(b, false), out);
  compare_sets("dataset", {a.dataset()}, {b.dataset()}, out);
  const auto inputs = [](const ResultsStore& s) {
    std::map<std::string, std::set<std::string>> by_model;
    std::set<std::string> data;
    for (const auto& r : s.rows()) {
      if (r.weights_sha256.empty() && r.data_fingerprint.empty()) continue;
      by_model[r.model].insert(short_hash(r.weights_sha256));
      data.insert(short_hash(r.data_fingerprint));
    }
    return std::make_pair(by_model, data);
  };
  const auto [wa, da] = inputs(a);
  const auto [wb, db] = inputs(b);
  std::set<std::string> models;
  for (const auto& [m, _] : wa) models.insert(m);
  for (const auto& [m, _] : wb) models.insert(m);
  for (const auto& m : models) {
    const auto ia = wa.find(m);
    const auto ib = wb.find(m);
    compare_sets("weights sha256 of " + m, ia == wa.end() ? std::set<std::string>{} : ia->second,
                 ib == wb.end() ? std::set<std::string>{} : ib->second, out);
  }
  compare_sets("data fingerprint", da, db, out);
}

std::string top1_text(const std::optional<TaskRow>& r) {
  if (!r) return "-";
  if (!r->ok()) return "failed";
  return fmt::format("{:.2f}", r->top1);
}

}  // namespace

std::optional<double> ComparedCell::delta() const {
  if (!a || !b || !a->ok() || !b->ok()) return std::nullopt;
  return b->top1 - a->top1;
}

Comparison compare_results(const ResultsStore& a, const ResultsStore& b) {
  Comparison c;
  c.a_path = a.path();
  c.b_path = b.path();
  std::map<std::string, size_t> index;
  for (auto& [key, row] : keyed_rows(a)) {
    if (index.count(key)) continue;  // the same settings twice in one file: the first id wins
    index[key] = c.cells.size();
    c.cells.push_back({cell_label(row), key, row, std::nullopt});
  }
  for (auto& [key, row] : keyed_rows(b)) {
    const auto it = index.find(key);
    if (it == index.end()) {
      index[key] = c.cells.size();
      c.cells.push_back({cell_label(row), key, std::nullopt, row});
    } else if (!c.cells[it->second].b) {
      c.cells[it->second].b = row;
    }
  }
  std::vector<TaskCell> cells;
  for (const auto& cell : c.cells) cells.push_back(cell.a ? cell.a->cell() : cell.b->cell());
  std::vector<ComparedCell> ordered;
  for (size_t i : table_order(cells)) ordered.push_back(std::move(c.cells[i]));
  c.cells = std::move(ordered);
  provenance_differences(a, b, c.provenance);
  return c;
}

std::vector<const ComparedCell*> failing_cells(const Comparison& c, const CompareOptions& o) {
  std::vector<const ComparedCell*> out;
  for (const auto& cell : c.cells) {
    const auto d = cell.delta();
    // Compared on the printed 2-decimal figures, so what is shown is what is judged.
    if (d ? std::round(std::fabs(*d) * 100) / 100 > o.max_delta + 1e-9 : !o.allow_missing) out.push_back(&cell);
  }
  return out;
}

bool comparison_passes(const Comparison& c, const CompareOptions& o) { return failing_cells(c, o).empty(); }

namespace {

// |B − A| as printed (two decimals), or +inf for a cell missing or failed in one file.
double shown_gap(const ComparedCell& cell) {
  const auto d = cell.delta();
  return d ? std::round(std::fabs(*d) * 100) / 100 : std::numeric_limits<double>::infinity();
}

std::vector<const ComparedCell*> listed_cells(const Comparison& c, const CompareOptions& o) {
  std::vector<const ComparedCell*> out;
  for (const auto& cell : c.cells) {
    if (!o.only_diff || shown_gap(cell) > 0) out.push_back(&cell);
  }
  if (o.sort == "delta") {
    // Missing cells first would bury the numbers: finite gaps, largest first, then the rest.
    std::stable_sort(out.begin(), out.end(), [](const ComparedCell* a, const ComparedCell* b) {
      const double ga = shown_gap(*a), gb = shown_gap(*b);
      const bool fa = std::isfinite(ga), fb = std::isfinite(gb);
      if (fa != fb) return fa;
      return ga > gb;
    });
  } else if (o.sort != "table") {
    throw ResultsError("compare: --sort is 'table' or 'delta', not '" + o.sort + "'");
  }
  return out;
}

}  // namespace

void print_comparison(const Comparison& c, const CompareOptions& o, std::ostream& out) {
  const auto failing = failing_cells(c, o);
  const std::set<const ComparedCell*> bad(failing.begin(), failing.end());
  const auto listed = listed_cells(c, o);
  size_t width = 4;
  for (const auto* cell : listed) width = std::max(width, cell->label.size());
  out << fmt::format("A: {}\nB: {}\n\n{:<{}}  {:>8}  {:>8}  {:>7}\n", c.a_path, c.b_path, "cell", width, "A top-1",
                     "B top-1", "B - A");
  std::map<std::string, int> seen;
  for (const auto& cell : c.cells) seen[cell.label]++;
  for (const auto* listed_cell : listed) {
    const ComparedCell& cell = *listed_cell;
    const auto d = cell.delta();
    std::string note = bad.count(&cell) ? "  <-- " : "";
    if (bad.count(&cell)) {
      if (d) note += fmt::format("|delta| > {}", o.max_delta);
      else if (!cell.a) note += "only in B";
      else if (!cell.b) note += "only in A";
      else note += "failed in one file";
    }
    // Two cells with one label differ in their options: show them so the lines can be told apart.
    const std::string options = seen[cell.label] > 1 ? "  " + cell.key.substr(cell.label.size() + 1) : "";
    out << fmt::format("{:<{}}  {:>8}  {:>8}  {:>7}{}{}\n", cell.label, width, top1_text(cell.a), top1_text(cell.b),
                       d ? fmt::format("{:+.2f}", std::round(*d * 100) / 100 + 0.0) : "-", note, options);
  }
  // A marked label ("EMAQuantile†") is explained under the list, as under a rendered table.
  std::vector<std::string> notes;
  for (const auto* cell : listed) {
    const TaskRow& row = cell->a ? *cell->a : *cell->b;
    for (const auto& key : {row.w_calib, row.a_calib}) {
      const auto note = calibrator_footnote(key);
      if (!note.empty() && std::find(notes.begin(), notes.end(), note) == notes.end()) notes.push_back(note);
    }
  }
  size_t both = 0, only_a = 0, only_b = 0;
  for (const auto& cell : c.cells) {
    if (cell.a && cell.b) both++;
    else if (cell.a) only_a++;
    else only_b++;
  }
  out << "\n";
  for (const auto& note : notes) out << note << "\n";
  if (listed.size() < c.cells.size()) {
    out << fmt::format("({} cells with B - A = +0.00 not listed: --only-diff)\n", c.cells.size() - listed.size());
  }
  out << fmt::format("{} cells in both, {} only in A, {} only in B; {} beyond the limits (max |delta| {}{})\n", both,
                     only_a, only_b, failing.size(), o.max_delta, o.allow_missing ? ", missing cells allowed" : "");
  if (c.provenance.empty()) {
    out << "provenance: same commits, LibTorch, dataset, weights and data\n";
  } else {
    out << "provenance differences:\n";
    for (const auto& line : c.provenance) out << "  " << line << "\n";
  }
}

}  // namespace qsweep::results
