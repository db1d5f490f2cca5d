// Per-layer overrides in sweep files (`layers:` at the top level and per grid block): parsing,
// validation with file:line:col, the task id, and the check on the model graphs.
#include <gtest/gtest.h>

#include "sweep/cell_json.h"
#include "sweep/cell_runner.h"
#include "sweep/plan.h"
#include "sweep/sweep_spec.h"

namespace qsweep::sweep {
namespace {

const std::string kHead = R"(sweep: t
data: {eval: e.h5, calibration: c.h5}
models: {resnet18: {arch: resnet18, weights: r.pth}}
)";
const std::string kCells = R"(      - {model: resnet18, backend: tensorrt, w_calib: minmax, a_calib: ema_minmax, wbit: 4, abit: 8}
      - {model: resnet18, backend: tensorrt, w_calib: none, a_calib: none, wbit: 32, abit: 32}
)";

SweepSpec parse(const std::string& layers_top, const std::string& layers_block) {
  return parse_sweep(kHead + layers_top + "grid:\n  - include:\n" + kCells + layers_block, "t.yaml");
}

std::string error_of(const std::string& top, const std::string& block = "") {
  try {
    parse(top, block);
  } catch (const SweepError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(LayerRules, TopLevelThenBlockRulesInOrder) {
  const auto s = parse("layers: [{match: \"@first\", wbit: 8, abit: 8}]\n",
                       "    layers:\n      - {regex: \"^fc$\", wbit: 8}\n      - {match: layer4.*, float: true}\n");
  const Cell& c = s.cells.at(0);
  ASSERT_EQ(c.layers.size(), 3u);
  EXPECT_EQ(c.layers[0].pattern, "@first");
  EXPECT_EQ(*c.layers[0].abit, 8);
  EXPECT_EQ(c.layers[0].origin, "t.yaml:4:10");
  EXPECT_TRUE(c.layers[1].regex);
  EXPECT_TRUE(c.layers[2].keep_float);
  EXPECT_TRUE(s.cells.at(1).layers.empty());  // FP32: nothing to override
  EXPECT_EQ(quant::rules_label(c.layers), "@first: w8 a8; re:^fc$: w8; layer4.*: float");
}

TEST(LayerRules, PartOfTheTaskIdOnlyWhenPresent) {
  const auto plain = parse("", "");
  const auto ruled = parse("layers: [{match: \"@first\", wbit: 8}]\n", "");
  const auto other = parse("layers: [{match: \"@first\", wbit: 6}]\n", "");
  PlanInputs in{{{"resnet18", "abc"}}, "fp", {}, nullptr};
  const auto id = [&](const SweepSpec& s) { return task_id(s, s.cells.at(0), in); };
  EXPECT_NE(id(plain), id(ruled));
  EXPECT_NE(id(ruled), id(other));
  EXPECT_EQ(resolved_config_json(plain, plain.cells.at(0), in).find("layers"), std::string::npos);
  // The wire keeps them, and with them the id a worker re-derives.
  EXPECT_EQ(task_id(ruled, cell_from_json(cell_to_json(ruled.cells.at(0))), in), id(ruled));
}

TEST(LayerRules, MalformedRulesNameFileLineAndColumn) {
  EXPECT_NE(error_of("layers: [{match: conv1, wbits: 8}]\n").find("t.yaml:4:25: unknown key 'wbits'"),
            std::string::npos);
  EXPECT_NE(error_of("layers: [{match: conv1, regex: fc, wbit: 8}]\n").find("t.yaml:4:10: layers entry: give exactly one"),
            std::string::npos);
  EXPECT_NE(error_of("layers: [{match: conv1, wbit: 9}]\n").find("t.yaml:4:31: wbit: 9 not in [2, 8]"),
            std::string::npos);
  EXPECT_NE(error_of("layers: [{regex: \"(\", wbit: 8}]\n").find("t.yaml:4:18: regex '(' is malformed"),
            std::string::npos)
      << error_of("layers: [{regex: \"(\", wbit: 8}]\n");
  EXPECT_NE(error_of("layers: [{match: conv1, a_observer: emamse}]\n").find("did you mean 'ema_mse'?"),
            std::string::npos);
  EXPECT_NE(error_of("layers: [{match: conv1, w_observer: ema_quantile}]\n").find("per-tensor only"),
            std::string::npos);
  EXPECT_NE(error_of("layers: [{match: conv1, float: true, wbit: 8}]\n").find("takes no other setting"),
            std::string::npos);
  EXPECT_NE(error_of("layers: [{match: conv1}]\n").find("names no setting"), std::string::npos);
  EXPECT_NE(error_of("layers: [{match: \"@middle\", wbit: 8}]\n").find("not @first or @last"), std::string::npos);
  EXPECT_NE(error_of("", "    layers: {match: conv1}\n").find("t.yaml:8:13: layers: expected a non-empty list"),
            std::string::npos)
      << error_of("", "    layers: {match: conv1}\n");
}

TEST(LayerRules, CheckedOnTheModelGraph) {
  const auto ok = parse("layers: [{match: \"layer1.*\", wbit: 8}]\n", "");
  const auto lines = resolve_layer_rules(ok, ok.cells);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("resnet18 tensorrt W4A8: layer-overrides: 'layer1.*: w8' on"), std::string::npos) << lines[0];
  const auto none = parse("layers: [{match: \"layer9.*\", wbit: 8}]\n", "");
  try {
    resolve_layer_rules(none, none.cells);
    FAIL() << "no error";
  } catch (const SweepError& e) {
    EXPECT_NE(std::string(e.what()).find("t.yaml:4:10: layers rule 'layer9.*: w8' matches no node of resnet18"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace qsweep::sweep
