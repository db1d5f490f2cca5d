// The cell a worker rank receives is the cell rank 0 planned: every field survives the wire.
#include <gtest/gtest.h>

#include "sweep/cell_json.h"
#include "sweep/plan.h"
#include "sweep/sweep_spec.h"

namespace qsweep::sweep {
namespace {

// Stops compiling when a field is added to Cell or TaskOptions (task_options.def, from which the
// wire format is generated): set it in NonDefault() and compare it in ExpectSame(), then add its name here.
[[maybe_unused]] void FieldCountGuard(Cell& c) {
  [[maybe_unused]] auto& [model, backend, w_calib, a_calib, wbit, abit, options, layers] = c;
  [[maybe_unused]] auto& [w_p, a_p, ema_ratio, symmetric_range, iterations, round_weight, warm_up, drop_prob,
                          deploy_check, group_size] = c.options;
}

Cell NonDefault() {  // every field differs from its default
  Cell c;
  c.model = "regnetx600m";
  c.backend = "tensorrt";
  c.w_calib = "qdrop";
  c.a_calib = "ema_mse";
  c.wbit = 4;
  c.abit = 6;
  c.options.w_p = 2.4;
  c.options.a_p = 3.0;
  c.options.ema_ratio = 0.5;
  c.options.symmetric_range = false;
  c.options.iterations = 100;
  c.options.round_weight = 0.05;
  c.options.warm_up = 0.3;
  c.options.drop_prob = 0.25;
  c.options.deploy_check = "int8";
  c.options.group_size = 3;
  quant::LayerRule r;
  r.pattern = "layer1.*", r.wbit = 8, r.a_observer = "mse", r.origin = "s.yaml:9:7";
  c.layers = {r};
  return c;
}

void ExpectSame(const Cell& a, const Cell& b) {
  EXPECT_EQ(a.model, b.model);
  EXPECT_EQ(a.backend, b.backend);
  EXPECT_EQ(a.w_calib, b.w_calib);
  EXPECT_EQ(a.a_calib, b.a_calib);
  EXPECT_EQ(a.wbit, b.wbit);
  EXPECT_EQ(a.abit, b.abit);
  EXPECT_EQ(a.options.w_p, b.options.w_p);
  EXPECT_EQ(a.options.a_p, b.options.a_p);
  EXPECT_EQ(a.options.ema_ratio, b.options.ema_ratio);
  EXPECT_EQ(a.options.symmetric_range, b.options.symmetric_range);
  EXPECT_EQ(a.options.iterations, b.options.iterations);
  EXPECT_EQ(a.options.round_weight, b.options.round_weight);
  EXPECT_EQ(a.options.deploy_check, b.options.deploy_check);
  EXPECT_EQ(a.options.warm_up, b.options.warm_up);
  EXPECT_EQ(a.options.drop_prob, b.options.drop_prob);
  EXPECT_EQ(a.options.group_size, b.options.group_size);
  EXPECT_EQ(quant::rules_to_json(a.layers), quant::rules_to_json(b.layers));
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (size_t i = 0; i < a.layers.size(); ++i) EXPECT_EQ(a.layers[i].origin, b.layers[i].origin);
}

TEST(CellJson, EveryFieldSurvivesTheRoundTrip) {
  const Cell c = NonDefault();
  const Cell back = cell_from_json(cell_to_json(c));
  ExpectSame(c, back);
  EXPECT_NE(back.options.iterations, TaskOptions{}.iterations);  // the field the wire once lost
}

TEST(CellJson, UnsetOptionalsStayUnset) {
  const Cell back = cell_from_json(cell_to_json(Cell{}));
  ExpectSame(Cell{}, back);
  EXPECT_FALSE(back.options.round_weight.has_value());
  EXPECT_FALSE(back.options.drop_prob.has_value());
}

TEST(CellJson, RoundTripKeepsTheTaskId) {
  const SweepSpec s = parse_sweep(R"(sweep: t
data: {eval: e.h5, calibration: c.h5}
models:
  regnetx600m: {arch: regnetx600m, weights: r.pth}
)" + std::string("grid:\n  - include:\n      - {model: regnetx600m, backend: tensorrt, w_calib: qdrop, a_calib: ema_mse, "
                 "wbit: 4, abit: 6}\n"),
                                  "t.yaml");
  PlanInputs in{{{"regnetx600m", "abc"}}, "fp", {}, nullptr};
  const Cell c = NonDefault();
  EXPECT_EQ(task_id(s, c, in), task_id(s, cell_from_json(cell_to_json(c)), in));
  Cell other = c;
  other.options.iterations = TaskOptions{}.iterations;
  EXPECT_NE(task_id(s, c, in), task_id(s, other, in));  // what a worker's id check catches
}

TEST(CellJson, MalformedTextIsASweepError) {
  EXPECT_THROW(cell_from_json("{\"model\": \"r\"}"), SweepError);
  EXPECT_THROW(cell_from_json("not json"), SweepError);
}

}  // namespace
}  // namespace qsweep::sweep
