// Every task option (sweep/task_options.def) reaches every place generated from the list: the
// sweep file reader, the JSON cell a worker rank receives, the task id and option_keys(). Values
// are chosen generically from the list (the first candidate its `valid` accepts that differs from
// the default), so a new option is covered without editing this test.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sweep/cell_json.h"
#include "sweep/plan.h"
#include "sweep/sweep_spec.h"

namespace qsweep::sweep {
namespace {

template <class T>
std::vector<T> candidates();
template <>
std::vector<double> candidates() { return {0.5, 2.5, 3.0}; }
template <>
std::vector<int64_t> candidates() { return {7}; }
template <>
std::vector<int> candidates() { return {3}; }
template <>
std::vector<std::string> candidates() { return {"int8", "x"}; }

template <class T>
std::string yaml_text(const T& v) {
  return fmt::format("{}", v);
}
std::string yaml_text(bool v) { return v ? "true" : "false"; }

struct Probe {
  std::string key;
  std::string yaml;                      // the value as a sweep file writes it
  std::function<bool(const TaskOptions&)> has;  // the parsed options hold it
  std::string id_section;
};

template <class T, class Valid, class Member>
Probe probe(const char* key, const T& def, Valid valid, Member member, const char* id) {
  Probe p{key, "", nullptr, id};
  if constexpr (std::is_same_v<T, bool>) {
    p.yaml = yaml_text(!def);
    p.has = [member, v = !def](const TaskOptions& o) { return o.*member == v; };
  } else if constexpr (std::is_same_v<T, std::optional<double>> || std::is_same_v<T, std::optional<int>>) {
    using V = typename T::value_type;
    for (const V& c : candidates<V>()) {
      if (valid(c) && def != c) {
        p.yaml = yaml_text(c);
        p.has = [member, c](const TaskOptions& o) { return o.*member == c; };
        break;
      }
    }
  } else {
    for (const T& c : candidates<T>()) {
      if (valid(c) && c != def) {
        p.yaml = yaml_text(c);
        p.has = [member, c](const TaskOptions& o) { return o.*member == c; };
        break;
      }
    }
  }
  return p;
}

std::vector<Probe> probes() {
  const TaskOptions d;
  return {
#define QSWEEP_TASK_OPTION(type, name, init, id, valid, problem) \
  probe<type>(#name, d.name, [](const auto& v) { return valid; }, &TaskOptions::name, #id),
#include "sweep/task_options.def"
#undef QSWEEP_TASK_OPTION
  };
}

const std::string kHead = R"(sweep: t
data: {eval: e.h5, calibration: c.h5}
models: {resnet18: {arch: resnet18, weights: r.pth}}
)";
const std::string kGrid =
    "grid:\n  - include:\n      - {model: resnet18, backend: academic, w_calib: adaround, a_calib: ema_mse, wbit: 4, "
    "abit: 8}\n";

TEST(OptionCoverage, EveryOptionIsAKeyInListOrder) {
  std::vector<std::string> keys;
  for (const auto& p : probes()) keys.push_back(p.key);
  EXPECT_EQ(option_keys(), keys);
}

TEST(OptionCoverage, EveryOptionIsReadSentAndHashedAsItsListSays) {
  const SweepSpec plain = parse_sweep(kHead + kGrid, "t.yaml");
  PlanInputs in{{{"resnet18", "abc"}}, "fp", {}, nullptr};
  const std::string plain_id = task_id(plain, plain.cells.at(0), in);
  for (const auto& p : probes()) {
    ASSERT_TRUE(p.has) << p.key << ": no candidate value passes its `valid`";
    const SweepSpec s = parse_sweep(kHead + "options: {" + p.key + ": " + p.yaml + "}\n" + kGrid, "t.yaml");
    const Cell& c = s.cells.at(0);
    EXPECT_TRUE(p.has(c.options)) << p.key << " not read from the sweep file";
    EXPECT_TRUE(p.has(cell_from_json(cell_to_json(c)).options)) << p.key << " lost on the wire";
    const bool hashed = task_id(s, c, in) != plain_id;
    EXPECT_EQ(hashed, p.id_section != "none") << p.key << " (id: " << p.id_section << ")";
    // The same value given as a grid axis.
    std::string axis = kGrid;
    axis.insert(axis.rfind('}'), ", " + p.key + ": " + p.yaml);
    EXPECT_TRUE(p.has(parse_sweep(kHead + axis, "t.yaml").cells.at(0).options)) << p.key << " as an axis";
  }
}

TEST(OptionCoverage, AnInvalidValueNamesItsPlace) {
  // Each option whose `valid` refuses something: a value out of range, with file:line:col.
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"w_p", "9"}, {"ema_ratio", "1"}, {"iterations", "0"}, {"warm_up", "-1"}, {"drop_prob", "2"},
           {"deploy_check", "fp16"}, {"group_size", "0"}}) {
    try {
      parse_sweep(kHead + "options: {" + key + ": " + value + "}\n" + kGrid, "t.yaml");
      ADD_FAILURE() << key << ": " << value << " accepted";
    } catch (const SweepError& e) {
      EXPECT_NE(std::string(e.what()).find("t.yaml:4:"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(key + ": "), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace qsweep::sweep
