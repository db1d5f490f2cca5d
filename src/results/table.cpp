// build_table: groups task rows into table cells, orders rows/columns/backends as the seed does,
// and attaches anchors and their deltas.
#include "results/table.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "results/labels.h"

namespace qsweep::results {
namespace {

// w_calib, a_calib, wbit, abit, layers (the per-layer overrides' label; "" for the seed's rows)
using RowKey = std::tuple<std::string, std::string, int, int, std::string>;

// The seed's row order (table A), then the advanced-PTQ rows (table C).
const std::vector<RowKey>& known_rows() {
  static const std::vector<RowKey> k = [] {
    std::vector<RowKey> v = {{"none", "none", 32, 32, ""}};
    for (int wbit : {8, 4}) {
      v.emplace_back("minmax", "ema_minmax", wbit, 8, "");
      v.emplace_back("minmax", "ema_quantile", wbit, 8, "");
      v.emplace_back("minmax", "ema_quantile_legacy", wbit, 8, "");
      v.emplace_back("mse", "ema_mse", wbit, 8, "");
    }
    v.emplace_back("adaround", "ema_mse", 4, 8, "");
    for (auto [wbit, abit] : {std::pair{4, 4}, std::pair{2, 4}, std::pair{3, 3}}) {
      for (const char* algo : {"adaround", "brecq", "qdrop"}) v.emplace_back(algo, "ema_mse", wbit, abit, "");
    }
    return v;
  }();
  return k;
}

// Position in `known`, else after all of them in order of first appearance.
template <class T>
size_t rank_of(const T& x, const std::vector<T>& known, std::vector<T>& seen) {
  auto it = std::find(known.begin(), known.end(), x);
  if (it != known.end()) return static_cast<size_t>(it - known.begin());
  auto s = std::find(seen.begin(), seen.end(), x);
  if (s == seen.end()) s = seen.insert(seen.end(), x);
  return known.size() + static_cast<size_t>(s - seen.begin());
}

template <class T>
void add_unique(std::vector<T>& v, const T& x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

}  // namespace

std::vector<size_t> table_order(const std::vector<TaskCell>& cells) {
  std::vector<std::string> seen_models, seen_backends;
  std::vector<RowKey> seen_rows;
  using Rank = std::tuple<size_t, size_t, size_t>;
  std::vector<Rank> ranks;
  for (const auto& c : cells) {
    ranks.emplace_back(rank_of(c.backend, backend_keys(), seen_backends),
                       rank_of(RowKey{c.w_calib, c.a_calib, c.wbit, c.abit, c.layers}, known_rows(), seen_rows),
                       rank_of(c.model, table_models(), seen_models));
  }
  std::vector<size_t> order(cells.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ranks[a] < ranks[b]; });
  return order;
}

ResultsTable build_table(const std::vector<TaskRow>& rows, const std::vector<TaskCell>& plan, const Anchors* anchors,
                         bool deploy, Labels labels) {
  const auto label = [labels](const std::string& key) {
    return labels == Labels::kPublished ? published_label(key) : calibrator_label(key);
  };
  // Every cell named by the plan or the rows, in order of appearance.
  std::vector<TaskCell> cells(plan);
  for (const auto& r : rows) cells.push_back(r.cell());

  std::vector<std::string> models, backends;
  std::vector<std::pair<std::string, RowKey>> row_keys;  // (backend, row)
  for (const auto& c : cells) {
    add_unique(models, c.model);
    add_unique(backends, c.backend);
    add_unique(row_keys, {c.backend, RowKey{c.w_calib, c.a_calib, c.wbit, c.abit, c.layers}});
  }

  // The newest ok result per (backend, row, model).
  std::map<std::tuple<std::string, RowKey, std::string>, const TaskRow*> value;
  std::set<std::tuple<std::string, RowKey, std::string>> tried;  // cells with any row, ok or failed
  for (const auto& r : rows) {
    const auto k = std::make_tuple(r.backend, RowKey{r.w_calib, r.a_calib, r.wbit, r.abit, r.layers}, r.model);
    tried.insert(k);
    if (r.ok()) value[k] = &r;
  }

  ResultsTable t;
  {
    std::vector<std::string> seen;  // unknown models rank by first appearance
    for (const auto& m : models) rank_of(m, table_models(), seen);
    std::stable_sort(models.begin(), models.end(), [&](const std::string& a, const std::string& b) {
      return rank_of(a, table_models(), seen) < rank_of(b, table_models(), seen);
    });
  }
  {
    std::vector<std::string> seen;
    for (const auto& b : backends) rank_of(b, backend_keys(), seen);
    std::stable_sort(backends.begin(), backends.end(), [&](const std::string& a, const std::string& b) {
      return rank_of(a, backend_keys(), seen) < rank_of(b, backend_keys(), seen);
    });
  }
  t.context.models = models;
  t.context.anchors = anchors != nullptr;
  t.context.deploy = deploy;
  if (anchors) t.context.anchor_sources = anchors->sources();

  std::vector<RowKey> seen;  // unknown rows rank by first appearance over all backends
  for (const auto& bk : row_keys) rank_of(bk.second, known_rows(), seen);
  for (const auto& backend : backends) {
    std::vector<RowKey> keys;
    for (const auto& [b, k] : row_keys) {
      if (b == backend) keys.push_back(k);
    }
    std::stable_sort(keys.begin(), keys.end(), [&](const RowKey& a, const RowKey& b) {
      return rank_of(a, known_rows(), seen) < rank_of(b, known_rows(), seen);
    });
    std::vector<TableRow> table;
    for (const auto& k : keys) {
      const auto& [w, a, wbit, abit, layers] = k;
      // A row with per-layer overrides names them after its weight calibrator.
      const std::string w_label = layers.empty() ? label(w) : label(w) + " [" + layers + "]";
      TableRow row{w_label, label(a), backend_label(backend), wbit, abit, {}};
      for (const auto& key : {w, a}) {
        const auto note = calibrator_footnote(key);
        if (labels == Labels::kMarked && !note.empty()) add_unique(t.context.footnotes, note);
      }
      for (const auto& model : models) {
        TableCell cell;
        if (auto it = value.find({backend, k, model}); it == value.end()) {
          cell.failed = tried.count({backend, k, model}) > 0;
        } else {
          const TaskRow& r = *it->second;
          cell.top1 = r.top1;
          if (deploy && r.deploy.rfind("refused", 0) == 0) cell.deploy_refused = true;
          if (deploy && !std::isnan(r.int_top1)) {
            cell.int_top1 = r.int_top1;
            cell.int_gap = r.int_top1 - r.top1;
          }
        }
        // Published numbers exist only for the seed's rows, which override no layer.
        if (anchors && layers.empty()) cell.anchor = anchors->find({backend, w, a, wbit, abit}, model);
        if (cell.top1 && cell.anchor) cell.delta = anchor_delta(*cell.top1, *cell.anchor);
        row.cells.push_back(cell);
      }
      table.push_back(std::move(row));
    }
    t.backends.push_back(std::move(table));
  }
  return t;
}

size_t failed_cells(const ResultsTable& table) {
  size_t n = 0;
  for (const auto& rows : table.backends) {
    for (const auto& row : rows) {
      for (const auto& c : row.cells) n += c.failed ? 1 : 0;
    }
  }
  return n;
}

}  // namespace qsweep::results
