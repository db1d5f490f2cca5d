// Parsing and strict validation of sweep files (yaml-cpp), and grid expansion. Cells are built
// as ordered key → YAML-node lists so that every later error can point at the node it came from.
#include "sweep/sweep_spec.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "quant/backend.h"
#include "pipeline/calibrators.h"
#include "quant/observer.h"
#include "support/strings.h"
#include "sweep/yaml_checks.h"

namespace qsweep::sweep {

// "${VAR}" expansion (sweep_inputs.cpp); stops at the first unset variable and names it in `*unset` (then the result
// is incomplete). Throws SweepError for an unterminated "${".
std::string expand_until_unset(const std::string& value, const std::string& where, std::string* unset);

namespace {

const std::vector<std::string> kCellKeys = {"model", "backend", "w_calib", "a_calib", "wbit", "abit"};
const std::vector<std::string> kOptionKeys = {
#define QSWEEP_TASK_OPTION(type, name, init, id, valid, problem) #name,
#include "sweep/task_options.def"
#undef QSWEEP_TASK_OPTION
};
// The keys that set something in a `layers:` entry: quant::for_each_setting's, then `float`.
std::vector<std::string> rule_setting_keys() {
  std::vector<std::string> keys;
  quant::LayerRule r;
  quant::for_each_setting(r, [&](const char* key, auto&) { keys.emplace_back(key); });
  keys.emplace_back("float");
  return keys;
}

// An option's value in an error message: strings quoted, as the file would write them.
std::string shown(const std::string& v) { return "'" + v + "'"; }
template <class T>
std::string shown(const T& v) {
  return fmt::format("{}", v);
}
template <class T>
std::string shown(const std::optional<T>& v) {
  return v ? shown(*v) : "unset";
}

// `valid` of task_options.def on a value (an unset optional is valid).
template <class T, class Valid>
bool option_valid(const T& v, Valid valid) {
  return valid(v);
}
template <class T, class Valid>
bool option_valid(const std::optional<T>& v, Valid valid) {
  return !v || valid(*v);
}

using RawCell = std::vector<std::pair<std::string, YAML::Node>>;

class Parser {
 public:
  explicit Parser(std::string path) : path_(std::move(path)) {}

  // Paths named so far, with their places (SweepSpec::inputs).
  mutable std::vector<InputPath> inputs;  // filled while the (const) section readers run

  // A path value: expanded when every variable is set, else recorded with the unset one.
  std::string input(const std::string& key, const YAML::Node& n) const {
    InputPath in;
    in.key = key;
    in.written = str(n, key.substr(key.rfind('.') + 1));
    in.where = where(n);
    in.path = expand_until_unset(in.written, in.where, &in.unset_var);
    if (!in.unset_var.empty()) in.path.clear();
    inputs.push_back(in);
    return in.path;
  }

  std::string where(const YAML::Node& n) const {
    const auto m = n.Mark();
    if (m.line < 0) return path_;
    return fmt::format("{}:{}:{}", path_, m.line + 1, m.column + 1);
  }
  [[noreturn]] void fail(const YAML::Node& n, const std::string& msg) const {
    throw SweepError(fmt::format("{}: {}", where(n), msg));
  }

  void expect_map(const YAML::Node& n, const std::string& what) const {
    if (!n.IsMap()) fail(n, fmt::format("{} must be a mapping", what));
  }
  // Rejects keys outside `allowed`, suggesting the closest.
  void check_keys(const YAML::Node& map, const std::vector<std::string>& allowed, const std::string& what) const {
    for (const auto& kv : map) {
      const auto key = kv.first.as<std::string>();
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      std::string msg = fmt::format("unknown key '{}' in {}", key, what);
      const auto guess = closest_match(key, allowed);
      if (!guess.empty()) msg += fmt::format("; did you mean '{}'?", guess);
      fail(kv.first, msg + " valid keys: " + join(allowed));
    }
  }
  template <typename T>
  T scalar(const YAML::Node& n, const std::string& key, const char* type) const {
    if (!n.IsScalar()) fail(n, fmt::format("{}: expected {}, got a {}", key, type, n.IsSequence() ? "list" : "mapping"));
    try {
      return n.as<T>();
    } catch (const YAML::Exception&) {
      fail(n, fmt::format("{}: expected {}, got '{}'", key, type, n.Scalar()));
    }
  }
  std::string str(const YAML::Node& n, const std::string& key) const { return scalar<std::string>(n, key, "a string"); }
  int integer(const YAML::Node& n, const std::string& key) const { return scalar<int>(n, key, "an integer"); }
  double number(const YAML::Node& n, const std::string& key) const { return scalar<double>(n, key, "a number"); }
  bool boolean(const YAML::Node& n, const std::string& key) const { return scalar<bool>(n, key, "true or false"); }
  int positive(const YAML::Node& n, const std::string& key) const {
    const int v = integer(n, key);
    if (v < 1) fail(n, fmt::format("{}: {} must be positive", key, v));
    return v;
  }

  // One option value of each type task_options.def uses.
  void read(const YAML::Node& n, const std::string& key, double& out) const { out = number(n, key); }
  void read(const YAML::Node& n, const std::string& key, bool& out) const { out = boolean(n, key); }
  void read(const YAML::Node& n, const std::string& key, int64_t& out) const {
    out = scalar<int64_t>(n, key, "an integer");
  }
  void read(const YAML::Node& n, const std::string& key, std::string& out) const { out = str(n, key); }
  void read(const YAML::Node& n, const std::string& key, std::optional<double>& out) const { out = number(n, key); }
  // A count that may be "auto" (0); an explicit count is at least 1.
  void read(const YAML::Node& n, const std::string& key, std::optional<int>& out) const {
    if (n.IsScalar() && n.Scalar() == "auto") {
      out = 0;
      return;
    }
    const int v = scalar<int>(n, key, "auto or a number");
    if (v < 1) fail(n, fmt::format("{}: {} must be auto or a number of ranks >= 1", key, v));
    out = v;
  }

  void apply_option(TaskOptions& o, const std::string& key, const YAML::Node& node) const {
#define QSWEEP_TASK_OPTION(type, name, init, id, valid, problem)                                         \
  if (key == #name) {                                                                                  \
    read(node, key, o.name);                                                                           \
    if (!option_valid(o.name, [](const auto& v) { return valid; })) {                                  \
      fail(node, fmt::format("{}: {} {}", key, shown(o.name), problem));                               \
    }                                                                                                  \
    return;                                                                                            \
  }
#include "sweep/task_options.def"
#undef QSWEEP_TASK_OPTION
  }
  // A rule's settings, by type (quant::for_each_setting lists them): bits, an observer, a switch.
  void read_setting(const YAML::Node& v, const std::string& key, std::optional<int>& out) const {
    const int b = integer(v, key);
    if (b < quant::kMinBits || b > quant::kMaxBits) {
      fail(v, fmt::format("{}: {} not in [{}, {}]", key, b, quant::kMinBits, quant::kMaxBits));
    }
    out = b;
  }
  void read_setting(const YAML::Node& v, const std::string& key, std::optional<std::string>& out) const {
    out = str(v, key);
    try {
      (void)quant::observer_info(*out);
    } catch (const quant::QuantError& e) {
      fail(v, fmt::format("{}: {} (a layer takes an observer; reconstruction is chosen per cell)", key, e.what()));
    }
  }
  void read_setting(const YAML::Node& v, const std::string& key, std::optional<bool>& out) const {
    out = boolean(v, key);
  }

  // One `layers:` entry: {match: GLOB | regex: RE, <settings>, float: true}.
  quant::LayerRule layer_rule(const YAML::Node& n) const {
    expect_map(n, "layers entry");
    std::vector<std::string> allowed = {"match", "regex"};
    const auto settings = rule_setting_keys();
    allowed.insert(allowed.end(), settings.begin(), settings.end());
    check_keys(n, allowed, "a layers entry");
    quant::LayerRule r;
    r.origin = where(n);
    if (static_cast<bool>(n["match"]) == static_cast<bool>(n["regex"])) {
      fail(n, "layers entry: give exactly one of 'match' (a glob on node names, or @first / @last) and 'regex'");
    }
    r.regex = static_cast<bool>(n["regex"]);
    const YAML::Node pattern = r.regex ? n["regex"] : n["match"];
    r.pattern = str(pattern, r.regex ? "regex" : "match");
    if (const auto problem = quant::pattern_problem(r); !problem.empty()) fail(pattern, problem);
    quant::for_each_setting(r, [&](const char* key, auto& v) {
      if (n[key]) read_setting(n[key], key, v);
    });
    if (r.w_observer && quant::observer_info(*r.w_observer).per_tensor_only && r.w_per_channel.value_or(true)) {
      fail(n["w_observer"], fmt::format("w_observer: '{}' is per-tensor only; weights are quantized per channel "
                                        "(add w_per_channel: false)",
                                        *r.w_observer));
    }
    if (n["float"]) {
      if (!boolean(n["float"], "float")) fail(n["float"], "float: false has no effect; leave the key out");
      r.keep_float = true;
      if (n.size() > 2) fail(n, "layers entry: float: true keeps the layer unquantized; it takes no other setting");
    }
    if (n.size() < 2) fail(n, "layers entry: names no setting (" + join(settings) + ")");
    return r;
  }
  std::vector<quant::LayerRule> layer_rules(const YAML::Node& n, std::vector<quant::LayerRule> base) const {
    if (!n) return base;
    if (!n.IsSequence() || n.size() == 0) fail(n, "layers: expected a non-empty list of {match: ..., <settings>}");
    for (const auto& entry : n) base.push_back(layer_rule(entry));
    return base;
  }

  TaskOptions options(const YAML::Node& n, TaskOptions base) const {
    if (!n) return base;
    expect_map(n, "options");
    check_keys(n, kOptionKeys, "options");
    for (const auto& kv : n) apply_option(base, kv.first.as<std::string>(), kv.second);
    return base;
  }

  DataSpec data(const YAML::Node& n) const {
    DataSpec d;
    expect_map(n, "data");
    check_keys(n, {"eval", "calibration", "calibration_batches", "batch_size", "eval_batch_size"}, "data");
    if (!n["eval"]) fail(n, "data: missing 'eval' (path of the evaluation shard)");
    if (!n["calibration"]) fail(n, "data: missing 'calibration' (path of the calibration shard)");
    d.eval = input("data.eval", n["eval"]);
    d.calibration = input("data.calibration", n["calibration"]);
    if (n["calibration_batches"]) d.calibration_batches = positive(n["calibration_batches"], "calibration_batches");
    if (n["batch_size"]) d.batch_size = positive(n["batch_size"], "batch_size");
    if (n["eval_batch_size"]) d.eval_batch_size = positive(n["eval_batch_size"], "eval_batch_size");
    return d;
  }

  std::vector<ModelEntry> models(const YAML::Node& n) const {
    expect_map(n, "models");
    std::vector<ModelEntry> out;
    for (const auto& kv : n) {
      ModelEntry m;
      m.key = kv.first.as<std::string>();
      check_file_name(where(kv.first), "model", m.key);
      const auto& v = kv.second;
      expect_map(v, "models." + m.key);
      check_keys(v, {"arch", "weights", "options"}, "models." + m.key);
      m.arch = v["arch"] ? str(v["arch"], "arch") : m.key;
      try {
        m.arch = models::model_info(m.arch).name;
      } catch (const models::ModelError& e) {
        fail(v["arch"] ? v["arch"] : kv.first, e.what());
      }
      if (!v["weights"]) fail(v, fmt::format("models.{}: missing 'weights' (checkpoint path)", m.key));
      m.weights = input("models." + m.key + ".weights", v["weights"]);
      if (const auto o = v["options"]) {
        expect_map(o, "options");
        check_keys(o, {"num_classes", "in_channels", "width", "small_input"}, fmt::format("models.{}.options", m.key));
        if (o["num_classes"]) m.options.num_classes = positive(o["num_classes"], "num_classes");
        if (o["in_channels"]) m.options.in_channels = positive(o["in_channels"], "in_channels");
        if (o["width"]) {
          m.options.width = number(o["width"], "width");
          if (!(m.options.width > 0)) fail(o["width"], "width must be > 0");
        }
        if (o["small_input"]) m.options.small_input = boolean(o["small_input"], "small_input");
      }
      out.push_back(m);
    }
    if (out.empty()) fail(n, "models: at least one model is needed");
    return out;
  }

  // Values of one axis: a scalar or a list of scalars.
  std::vector<YAML::Node> values(const YAML::Node& n, const std::string& key) const {
    std::vector<YAML::Node> out;
    if (n.IsScalar()) {
      out.push_back(n);
    } else if (n.IsSequence() && n.size() > 0) {
      for (const auto& v : n) {
        if (!v.IsScalar()) fail(v, fmt::format("{}: list entries must be scalars", key));
        out.push_back(v);
      }
    } else {
      fail(n, fmt::format("{}: expected a value or a non-empty list", key));
    }
    return out;
  }

  void check_cell_key(const YAML::Node& key_node, const std::string& key) const {
    std::vector<std::string> allowed = kCellKeys;
    allowed.insert(allowed.end(), kOptionKeys.begin(), kOptionKeys.end());
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) return;
    std::string msg = fmt::format("unknown grid axis '{}'", key);
    const auto guess = closest_match(key, allowed);
    if (!guess.empty()) msg += fmt::format("; did you mean '{}'?", guess);
    fail(key_node, msg + " valid axes: " + join(allowed));
  }

  // A zip: a list of mappings with the same keys, or a mapping of equal-length lists.
  std::vector<RawCell> zip(const YAML::Node& n) const {
    std::vector<RawCell> rows;
    if (n.IsSequence()) {
      for (const auto& entry : n) {
        expect_map(entry, "zip entry");
        RawCell row;
        for (const auto& kv : entry) {
          const auto key = kv.first.as<std::string>();
          check_cell_key(kv.first, key);
          if (!kv.second.IsScalar()) fail(kv.second, fmt::format("{}: zip entries hold single values", key));
          row.emplace_back(key, kv.second);
        }
        if (!rows.empty() && row.size() != rows.front().size()) fail(entry, "zip entries must all have the same keys");
        rows.push_back(row);
      }
    } else if (n.IsMap()) {
      size_t len = 0;
      for (const auto& kv : n) {
        const auto key = kv.first.as<std::string>();
        check_cell_key(kv.first, key);
        const auto vs = values(kv.second, key);
        if (len && vs.size() != len) {
          fail(kv.second, fmt::format("zip: '{}' has {} values, the lists before it {}", key, vs.size(), len));
        }
        len = vs.size();
        rows.resize(len);
        for (size_t i = 0; i < len; ++i) rows[i].emplace_back(key, vs[i]);
      }
    } else {
      fail(n, "zip: expected a list of mappings or a mapping of lists");
    }
    if (rows.empty()) fail(n, "zip: no entries");
    return rows;
  }

  // Cartesian product in declared order, last axis fastest.
  std::vector<RawCell> product(const YAML::Node& n) const {
    expect_map(n, "product");
    std::vector<RawCell> cells = {RawCell{}};
    for (const auto& kv : n) {
      const auto key = kv.first.as<std::string>();
      std::vector<RawCell> axis;
      if (key.rfind("zip", 0) == 0) {
        axis = zip(kv.second);
      } else {
        check_cell_key(kv.first, key);
        for (const auto& v : values(kv.second, key)) axis.push_back({{key, v}});
      }
      std::vector<RawCell> next;
      for (const auto& c : cells) {
        for (const auto& a : axis) {
          RawCell merged = c;
          for (const auto& [k, v] : a) {
            for (const auto& [k0, v0] : merged) {
              if (k0 == k) fail(v, fmt::format("axis '{}' is given twice in this product", k));
            }
            merged.emplace_back(k, v);
          }
          next.push_back(std::move(merged));
        }
      }
      cells = std::move(next);
    }
    return cells;
  }

  static bool matches(const RawCell& cell, const YAML::Node& rule) {
    for (const auto& kv : rule) {
      const auto key = kv.first.as<std::string>();
      bool found = false;
      for (const auto& [k, v] : cell) {
        if (k != key) continue;
        found = true;
        bool any = false;
        if (kv.second.IsSequence()) {
          for (const auto& alt : kv.second) any |= alt.Scalar() == v.Scalar();
        } else {
          any = kv.second.Scalar() == v.Scalar();
        }
        if (!any) return false;
      }
      if (!found) return false;
    }
    return true;
  }

  Cell resolve(const RawCell& raw, const YAML::Node& origin, const TaskOptions& defaults,
               const std::vector<quant::LayerRule>& rules, const std::vector<ModelEntry>& models) const {
    Cell c;
    c.options = defaults;
    std::set<std::string> seen;
    for (const auto& [key, v] : raw) {
      seen.insert(key);
      if (key == "model") {
        c.model = str(v, key);
        bool known = false;
        std::vector<std::string> keys;
        for (const auto& m : models) {
          known |= m.key == c.model;
          keys.push_back(m.key);
        }
        if (!known) fail(v, unknown_name_message("model", c.model, keys) + " (declare it under 'models')");
      } else if (key == "backend") {
        try {
          c.backend = quant::backend(str(v, key)).name;
        } catch (const quant::QuantError& e) {
          fail(v, e.what());
        }
      } else if (key == "w_calib" || key == "a_calib") {
        auto name = str(v, key);
        const auto recon = pipeline::reconstruction_calibrator_names();
        const bool is_recon = std::find(recon.begin(), recon.end(), name) != recon.end();
        if (is_recon && key == "a_calib") {
          fail(v, fmt::format("a_calib: '{}' is a weight calibrator (reconstruction); activations take an observer "
                              "such as ema_mse",
                              name));
        }
        if (name != "none" && !is_recon) {
          try {
            const auto& info = quant::observer_info(name);
            if (key == "w_calib" && info.per_tensor_only) {
              fail(v, fmt::format("w_calib: '{}' is per-tensor only; weights are quantized per channel", name));
            }
          } catch (const quant::QuantError& e) {
            std::string msg = e.what();
            if (key == "w_calib") msg += ", adaround, brecq, qdrop";
            fail(v, fmt::format("{}: {}", key, msg));
          }
        }
        (key == "w_calib" ? c.w_calib : c.a_calib) = name;
      } else if (key == "wbit" || key == "abit") {
        const int b = integer(v, key);
        if (b != 32 && (b < 2 || b > 8)) fail(v, fmt::format("{}: {} not in [2, 8] (or 32 for FP32)", key, b));
        (key == "wbit" ? c.wbit : c.abit) = b;
      } else {
        apply_option(c.options, key, v);
      }
    }
    for (const auto& k : kCellKeys) {
      if (!seen.count(k)) fail(origin, fmt::format("grid cell has no '{}' (every cell needs {})", k, join(kCellKeys)));
    }
    const bool fp_w = c.w_calib == "none", fp_a = c.a_calib == "none";
    if (fp_w != fp_a || fp_w != (c.wbit == 32) || fp_w != (c.abit == 32)) {
      fail(origin, fmt::format("cell ({}, {}, wbit {}, abit {}): FP32 cells need w_calib none, a_calib none, "
                               "wbit 32 and abit 32 together",
                               c.w_calib, c.a_calib, c.wbit, c.abit));
    }
    if (!c.fp32()) c.layers = rules;  // an FP32 cell has no quantizer to override
    return c;
  }

  std::vector<Cell> grid(const YAML::Node& n, const TaskOptions& defaults, const std::vector<quant::LayerRule>& rules,
                         const std::vector<ModelEntry>& models) const {
    if (!n.IsSequence() || n.size() == 0) fail(n, "grid: expected a non-empty list of blocks (product/include/exclude)");
    std::vector<Cell> out;
    for (const auto& block : n) {
      expect_map(block, "grid block");
      check_keys(block, {"product", "include", "exclude", "options", "layers"}, "grid block");
      const TaskOptions opts = options(block["options"], defaults);
      const auto block_rules = layer_rules(block["layers"], rules);
      std::vector<RawCell> raw = block["product"] ? product(block["product"]) : std::vector<RawCell>{};
      if (const auto ex = block["exclude"]) {
        if (!ex.IsSequence()) fail(ex, "exclude: expected a list of mappings");
        for (const auto& rule : ex) {
          expect_map(rule, "exclude rule");
          for (const auto& kv : rule) check_cell_key(kv.first, kv.first.as<std::string>());
          const size_t before = raw.size();
          raw.erase(std::remove_if(raw.begin(), raw.end(), [&](const RawCell& c) { return matches(c, rule); }), raw.end());
          // A block that runs nothing is a mistake in the file, not an empty plan to succeed on.
          if (before > 0 && raw.empty() && !block["include"]) {
            fail(rule, fmt::format("this exclude rule removes the last {} cell(s) of the grid block at line {}: the "
                                   "block would run no task",
                                   before, block.Mark().line + 1));
          }
        }
      }
      for (const auto& r : raw) out.push_back(resolve(r, block["product"], opts, block_rules, models));
      if (const auto inc = block["include"]) {
        if (!inc.IsSequence()) fail(inc, "include: expected a list of mappings");
        for (const auto& entry : inc) {
          for (const auto& r : product(entry)) out.push_back(resolve(r, entry, opts, block_rules, models));
        }
      }
      if (!block["product"] && !block["include"]) fail(block, "grid block: needs 'product' or 'include'");
    }
    return out;
  }

 private:
  std::string path_;
};

}  // namespace

const ModelEntry& SweepSpec::model(const std::string& key) const {
  for (const auto& m : models) {
    if (m.key == key) return m;
  }
  throw SweepError(fmt::format("{}: no model '{}'", path, key));
}

SweepSpec parse_sweep(const std::string& text, const std::string& path) {
  Parser p(path);
  check_text(text, path);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw SweepError(fmt::format("{}:{}:{}: YAML syntax error: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  check_single_document(text, path);
  check_alias_expansion(text, path);
  check_unique_keys(root, path);
  if (!root.IsMap()) throw SweepError(fmt::format("{}: a sweep file is a YAML mapping (sweep, data, models, grid)", path));
  p.check_keys(root, {"sweep", "seed", "data", "models", "options", "layers", "grid"}, "the sweep file");
  for (const char* required : {"sweep", "data", "models", "grid"}) {
    if (!root[required]) throw SweepError(fmt::format("{}: missing top-level key '{}'", path, required));
  }
  SweepSpec s;
  s.path = path;
  s.text = text;
  s.name = p.str(root["sweep"], "sweep");
  check_file_name(p.where(root["sweep"]), "sweep", s.name);
  if (root["seed"]) s.seed = static_cast<uint64_t>(p.integer(root["seed"], "seed"));
  s.data = p.data(root["data"]);
  s.models = p.models(root["models"]);
  const TaskOptions defaults = p.options(root["options"], TaskOptions{});
  s.cells = p.grid(root["grid"], defaults, p.layer_rules(root["layers"], {}), s.models);
  s.inputs = p.inputs;
  return s;
}

const std::vector<std::string>& option_keys() { return kOptionKeys; }

namespace {

void apply_overrides_or_throw(SweepSpec& spec, const std::vector<std::string>& assignments) {
  Parser p("--set");
  std::string note = "\n# qsweep run --set";
  for (const auto& a : assignments) {
    const size_t eq = a.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == a.size()) {
      throw SweepError(fmt::format("--set '{}': expected key=value, e.g. --set a_p=2.4", a));
    }
    const std::string key = a.substr(0, eq);
    // Parsed as the YAML mapping the file would hold, so types, ranges and messages are the file's.
    YAML::Node node;
    try {
      node = YAML::Load("{" + key + ": " + a.substr(eq + 1) + "}");
    } catch (const YAML::ParserException& e) {
      throw SweepError(fmt::format("--set '{}': not a YAML value: {}", a, e.msg));
    }
    if (key == "seed") {
      spec.seed = static_cast<uint64_t>(p.integer(node["seed"], "seed"));
    } else {
      std::vector<std::string> allowed = kOptionKeys;
      allowed.push_back("seed");
      p.check_keys(node, allowed, "--set");
      for (auto& c : spec.cells) c.options = p.options(node, c.options);
    }
    note += " " + a;
  }
  spec.text += note + "\n";
}

}  // namespace

void apply_overrides(SweepSpec& spec, const std::vector<std::string>& assignments) {
  if (assignments.empty()) return;
  // Every --set problem is in what was typed, whatever the sweep file holds: a usage error (exit 1).
  try {
    apply_overrides_or_throw(spec, assignments);
  } catch (const SweepError& e) {
    throw UsageError(e.what());
  }
}

SweepSpec load_sweep(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw SweepError(fmt::format("{}: cannot read the sweep file", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_sweep(ss.str(), path);
}

}  // namespace qsweep::sweep
