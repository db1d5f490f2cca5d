// Sweep files: grid semantics, strict validation with file:line:col, task-id stability.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "data/shard/shard.h"
#include "sweep/cell_runner.h"
#include "sweep/plan.h"
#include "support/error.h"
#include "sweep/sweep_spec.h"

namespace qsweep::sweep {
namespace {

const std::string kHead = R"(sweep: t
data: {eval: e.h5, calibration: c.h5}
models:
  resnet18: {arch: resnet18, weights: r18.pth}
  mbv2: {arch: mobilenet_v2, weights: m.pth}
)";

SweepSpec parse(const std::string& grid) { return parse_sweep(kHead + grid, "t.yaml"); }

std::string cells(const SweepSpec& s) {
  std::string out;
  for (const auto& c : s.cells) out += c.model + "/" + c.backend + "/" + c.w_calib + "/" + std::to_string(c.wbit) + " ";
  return out;
}

TEST(Grid, ProductInDeclaredOrderLastAxisFastest) {
  const auto s = parse(R"(grid:
  - product:
      model: [resnet18, mbv2]
      backend: academic
      w_calib: [minmax, mse]
      a_calib: ema_minmax
      wbit: [8, 4]
      abit: 8
)");
  EXPECT_EQ(cells(s),
            "resnet18/academic/minmax/8 resnet18/academic/minmax/4 resnet18/academic/mse/8 resnet18/academic/mse/4 "
            "mbv2/academic/minmax/8 mbv2/academic/minmax/4 mbv2/academic/mse/8 mbv2/academic/mse/4 ");
  EXPECT_EQ(s.model("mbv2").arch, "mobilenetv2_1.0");
}

TEST(Grid, ZipIncludeExcludeCompose) {
  const auto s = parse(R"(grid:
  - product:
      model: resnet18
      backend: academic
      zip:
        - {w_calib: minmax, a_calib: ema_minmax}
        - {w_calib: mse, a_calib: ema_mse}
      wbit: [8, 4]
      abit: 8
    exclude:
      - {w_calib: mse, wbit: 8}
    include:
      - {model: [resnet18, mbv2], backend: tensorrt, w_calib: none, a_calib: none, wbit: 32, abit: 32}
)");
  EXPECT_EQ(cells(s),
            "resnet18/academic/minmax/8 resnet18/academic/minmax/4 resnet18/academic/mse/4 "
            "resnet18/tensorrt/none/32 mbv2/tensorrt/none/32 ");
  EXPECT_EQ(s.cells[2].a_calib, "ema_mse");
  EXPECT_TRUE(s.cells[3].fp32());
}

TEST(Grid, ZipAsMappingOfListsAndOptions) {
  const auto s = parse(R"(options: {a_p: 2.4}
grid:
  - product:
      model: resnet18
      backend: TensorRT
      zip: {w_calib: [minmax, mse], a_calib: [ema_minmax, ema_mse]}
      wbit: 8
      abit: 8
      symmetric_range: [true, false]
    options: {w_p: 3.0}
)");
  ASSERT_EQ(s.cells.size(), 4u);
  EXPECT_EQ(s.cells[0].backend, "tensorrt");
  EXPECT_EQ(s.cells[1].options.symmetric_range, false);
  EXPECT_EQ(s.cells[3].a_calib, "ema_mse");
  EXPECT_EQ(s.cells[0].options.a_p, 2.4);
  EXPECT_EQ(s.cells[0].options.w_p, 3.0);
}

TEST(Grid, ReconstructionCalibratorsAndTheirOptions) {
  const auto s = parse(R"(grid:
  - include:
      - {model: resnet18, backend: academic, w_calib: [adaround, qdrop], a_calib: ema_mse, wbit: 2, abit: 4,
         iterations: 500, drop_prob: 0.7}
)");
  ASSERT_EQ(s.cells.size(), 2u);
  EXPECT_EQ(s.cells[0].w_calib, "adaround");
  EXPECT_EQ(s.cells[1].options.iterations, 500);
  EXPECT_EQ(*s.cells[1].options.drop_prob, 0.7);
  PlanInputs in;
  auto tasks = make_plan(s, in);
  EXPECT_NE(tasks[0].config_json.find("\"iterations\":500"), std::string::npos) << tasks[0].config_json;
  EXPECT_GT(tasks[0].cost, estimated_cost(s, Cell{"resnet18", "academic", "mse", "ema_mse", 2, 4, {}, {}}));
  // What the pipeline runs: the cell's options and the sweep's seed.
  const auto spec = task_spec_of(s.cells[1], "resnet18@sha", 7);
  EXPECT_EQ(spec.reconstruction.iterations, 500);
  EXPECT_EQ(*spec.reconstruction.prob, 0.7);
  EXPECT_EQ(spec.reconstruction.seed, 7u);
}

TEST(Grid, EnvironmentVariablesInPaths) {
  setenv("QSWEEP_TEST_SHARDS", "/data/x", 1);
  const auto s = parse_sweep(R"(sweep: t
data:
  eval: ${QSWEEP_TEST_SHARDS}/val.h5
  calibration: c.h5
models: {resnet18: {weights: w.pth}}
grid: [{include: [{model: resnet18, backend: academic, w_calib: none, a_calib: none, wbit: 32, abit: 32}]}]
)",
                             "t.yaml");
  EXPECT_EQ(s.data.eval, "/data/x/val.h5");
}

struct Bad {
  const char* name;
  std::string text;
  const char* location;  // expected "t.yaml:L:C"
  const char* message;   // a fragment
};

const std::string kGood = R"(grid:
  - product: {model: resnet18, backend: academic, w_calib: minmax, a_calib: ema_minmax, wbit: 8, abit: 8}
)";

class Malformed : public ::testing::TestWithParam<Bad> {};

TEST_P(Malformed, FailsWithFileLineColumnAndReason) {
  const auto& b = GetParam();
  try {
    parse_sweep(b.text, "t.yaml");
    FAIL() << b.name << " parsed";
  } catch (const SweepError& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.rfind(b.location, 0), 0u) << b.name << ": " << m;
    EXPECT_NE(m.find(b.message), std::string::npos) << b.name << ": " << m;
  }
}

// Issue 25: ten levels of ten-fold aliases (10^9 nodes in 300 bytes) kept `plan` walking the tree
// past 60 s; the events are counted instead and the sixth level's fourth alias passes the limit.
std::string alias_bomb() {
  std::string t = "x-lol0: &lol0 [lol]\n";
  for (int level = 1; level < 10; ++level) {
    t += fmt::format("x-lol{}: &lol{} [", level, level);
    for (int i = 0; i < 10; ++i) t += fmt::format("{}*lol{}", i ? ", " : "", level - 1);
    t += "]\n";
  }
  return t + kHead + kGood;
}

// An alias used n times inside a list: n² nodes (n = 1500: 2.25 M).
std::string quadratic_aliases() {
  std::string list, uses;
  for (int i = 0; i < 1500; ++i) {
    list += i ? ", 1" : "1";
    uses += i ? ", *a" : "*a";
  }
  return "x-a: &a [" + list + "]\nx-b: [" + uses + "]\n" + kHead + kGood;
}

TEST(SweepAliases, FewAliasesAreRead) {
  const auto s = parse_sweep("sweep: t\ndata: {eval: e.h5, calibration: c.h5}\nmodels:\n  resnet18: &m {arch: resnet18, "
                             "weights: r18.pth}\n  copy: *m\n" + kGood, "t.yaml");
  EXPECT_EQ(s.models.size(), 2u);
}

std::string grid_with(const std::string& product) { return kHead + "grid:\n  - product: " + product + "\n"; }

INSTANTIATE_TEST_SUITE_P(
    Sweep, Malformed,
    ::testing::Values(
        Bad{"syntax", "sweep: [unclosed\n", "t.yaml:", "YAML syntax error"},
        Bad{"not a map", "- a\n- b\n", "t.yaml", "YAML mapping"},
        // Found by tests/fuzz: an alias inside the node it names made the key check recurse until
        // the stack ran out (a segfault, not an error).
        Bad{"cyclic alias", "x: &a [1, *a]\n" + kHead + kGood, "t.yaml:1:11", "a cycle"},
        Bad{"deep nesting", "x: " + std::string(80, '[') + std::string(80, ']') + "\n" + kHead + kGood, "t.yaml:1:",
            "nested more than 64 deep"},
        Bad{"missing grid", kHead, "t.yaml", "missing top-level key 'grid'"},
        Bad{"unknown top key", kHead + "gird: []\n" + kGood, "t.yaml:6:1", "did you mean 'grid'?"},
        Bad{"unknown data key", "sweep: t\ndata: {eval: e, calibration: c, batchsize: 3}\nmodels: {r: {weights: w}}\n" + kGood,
            "t.yaml:2:33", "did you mean 'batch_size'?"},
        Bad{"negative batch", "sweep: t\ndata: {eval: e, calibration: c, batch_size: -1}\nmodels: {r: {weights: w}}\n" + kGood,
            "t.yaml:2:45", "must be positive"},
        Bad{"unknown arch", "sweep: t\ndata: {eval: e, calibration: c}\nmodels: {r: {arch: resnet19, weights: w}}\n" + kGood,
            "t.yaml:3:20", "did you mean 'resnet18'?"},
        Bad{"model without weights", "sweep: t\ndata: {eval: e, calibration: c}\nmodels: {resnet18: {arch: resnet18}}\n" + kGood,
            "t.yaml:3:20", "missing 'weights'"},
        Bad{"unknown model in grid",
            grid_with("{model: resnet34, backend: academic, w_calib: minmax, a_calib: ema_minmax, wbit: 8, abit: 8}"),
            "t.yaml:7:22", "unknown model 'resnet34'"},
        Bad{"unknown calibrator",
            grid_with("{model: resnet18, backend: academic, w_calib: minmax, a_calib: emamse, wbit: 8, abit: 8}"),
            "t.yaml:7:77", "did you mean 'ema_mse'?"},
        Bad{"unknown backend",
            grid_with("{model: resnet18, backend: tensorrt2, w_calib: minmax, a_calib: ema_minmax, wbit: 8, abit: 8}"),
            "t.yaml:7:41", "did you mean 'tensorrt'?"},
        Bad{"bits out of range",
            grid_with("{model: resnet18, backend: academic, w_calib: minmax, a_calib: ema_minmax, wbit: 9, abit: 8}"),
            "t.yaml:7:95", "wbit: 9 not in [2, 8]"},
        Bad{"bits not a number",
            grid_with("{model: resnet18, backend: academic, w_calib: minmax, a_calib: ema_minmax, wbit: four, abit: 8}"),
            "t.yaml:7:95", "expected an integer"},
        Bad{"fp32 mixed",
            grid_with("{model: resnet18, backend: academic, w_calib: none, a_calib: ema_minmax, wbit: 32, abit: 32}"),
            "t.yaml:7:14", "FP32 cells need"},
        Bad{"unknown axis",
            grid_with("{model: resnet18, backend: academic, w_calb: minmax, a_calib: ema_minmax, wbit: 8, abit: 8}"),
            "t.yaml:7:51", "did you mean 'w_calib'?"},
        Bad{"missing axis", grid_with("{model: resnet18, backend: academic, w_calib: minmax, wbit: 8, abit: 8}"),
            "t.yaml:7:14", "grid cell has no 'a_calib'"},
        Bad{"quantile weights",
            grid_with("{model: resnet18, backend: academic, w_calib: ema_quantile, a_calib: ema_minmax, wbit: 8, abit: 8}"),
            "t.yaml:7:60", "per-tensor only"},
        Bad{"zip length mismatch",
            kHead + "grid:\n  - product:\n      zip: {w_calib: [minmax, mse], a_calib: [ema_mse]}\n",
            "t.yaml:8:46", "has 1 values"},
        Bad{"axis twice",
            kHead + "grid:\n  - product:\n      w_calib: minmax\n      zip: [{w_calib: mse, a_calib: ema_mse}]\n",
            "t.yaml:9:23", "given twice"},
        Bad{"empty list", grid_with("{model: [], backend: academic}"), "t.yaml:7:22", "non-empty list"},
        Bad{"bad option", kHead + "options: {ema_ratio: 1.5}\n" + kGood, "t.yaml:6:22", "not in [0, 1)"},
        Bad{"unterminated variable", "sweep: t\ndata:\n  eval: ${QSWEEP_X/v.h5\n  calibration: c\nmodels: {r: {weights: w}}\n" + kGood,
            "t.yaml:3:9", "unterminated '${'"},
        Bad{"reconstruction as activation calibrator",
            grid_with("{model: resnet18, backend: academic, w_calib: mse, a_calib: adaround, wbit: 4, abit: 8}"),
            "t.yaml:7:74", "is a weight calibrator"},
        Bad{"bad drop_prob", kHead + "options: {drop_prob: 0}\n" + kGood, "t.yaml:6:22", "not in (0, 1]"},
        Bad{"infinite p", kHead + "options: {a_p: .inf}\n" + kGood, "t.yaml:6:16", "not in [1, 8]"},
        Bad{"p below 1", kHead + "options: {w_p: 0.5}\n" + kGood, "t.yaml:6:16", "not in [1, 8]"},
        Bad{"infinite round_weight", kHead + "options: {round_weight: .inf}\n" + kGood, "t.yaml:6:25",
            "must be finite"},
        Bad{"sweep name with slash", "sweep: a/b\ndata: {eval: e, calibration: c}\nmodels: {r: {weights: w}}\n" + kGood,
            "t.yaml:1:8", "sweep 'a/b' holds '/'"},
        // yaml-cpp accepts everything below silently; qsweep must not.
        Bad{"top-level key twice", kHead + "sweep: u\n" + kGood, "t.yaml:6:1",
            "key 'sweep' is given twice in this mapping (first at line 1)"},
        Bad{"nested key twice", "sweep: t\ndata: {eval: e.h5, calibration: c.h5, eval: x.h5}\nmodels: {r: {weights: w}}\n" + kGood,
            "t.yaml:2:39", "key 'eval' is given twice"},
        Bad{"second document", kHead + kGood + "---\nsweep: other\n", "t.yaml:8:1", "a second YAML document"},
        Bad{"alias bomb", alias_bomb(), "t.yaml:7:", "more than 1000000 YAML nodes"},
        Bad{"quadratic aliases", quadratic_aliases(), "t.yaml:2:", "more than 1000000 YAML nodes"},
        // Found by the fuzz test (tests/fuzz/regressions/sweep/mapping-key-1.yaml): a key that is a mapping.
        Bad{"mapping as a key", "sweep: t\ndata: {eval: e, calibration: c}\nmodels: {r: {arch: resnet18, {w: 1}}}\n" + kGood,
            "t.yaml:3:30", "a key must be a plain name, not a mapping"},
        Bad{"NUL byte", std::string("sweep: t\0x\n", 11) + kHead.substr(9) + kGood, "t.yaml:1:9", "a NUL byte"},
        Bad{"invalid UTF-8", "sweep: t\xff\n" + kHead.substr(9) + kGood, "t.yaml:1:9", "byte 0xFF is not valid UTF-8"},
        Bad{"overlong UTF-8 slash", "sweep: t\n" + kHead.substr(9, 6) + "{eval: a\xC0\xAF" + kHead.substr(21) + kGood,
            "t.yaml:2:15", "byte 0xC0 is not valid UTF-8"},
        Bad{"sweep name too long", "sweep: " + std::string(65, 'n') + "\n" + kHead.substr(9) + kGood, "t.yaml:1:8",
            "has 65 characters"},
        Bad{"model name with a space", "sweep: t\ndata: {eval: e, calibration: c}\nmodels: {res net: {arch: resnet18, weights: w}}\n" + kGood,
            "t.yaml:3:10", "model 'res net' holds a space"},
        Bad{"exclude removes every cell", grid_with("{model: resnet18, backend: academic, w_calib: minmax, a_calib: ema_minmax, "
                                                    "wbit: [8, 4], abit: 8}\n    exclude: [{wbit: 8}, {model: resnet18}]"),
            "t.yaml:8:26", "removes the last 1 cell(s) of the grid block at line 7"}),
    [](const ::testing::TestParamInfo<Bad>& i) {
      std::string n = i.param.name;
      for (auto& ch : n) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
      return n;
    });

TEST(Plan, TaskIdsAreStableAndIndependentOfGridOrder) {
  const auto a = parse(R"(grid:
  - product: {model: [resnet18, mbv2], backend: academic, w_calib: [minmax, mse], a_calib: ema_minmax, wbit: 4, abit: 8}
)");
  const auto b = parse(R"(grid:
  - product: {w_calib: [mse, minmax], abit: 8, model: [mbv2, resnet18], backend: academic, a_calib: ema_minmax, wbit: 4}
)");
  PlanInputs in{{{"resnet18", "aa"}, {"mbv2", "bb"}}, "fp", {}, nullptr};
  const auto ta = make_plan(a, in), tb = make_plan(b, in);
  ASSERT_EQ(ta.size(), 4u);
  std::set<std::string> ids_a, ids_b;
  for (const auto& t : ta) ids_a.insert(t.id);
  for (const auto& t : tb) ids_b.insert(t.id);
  EXPECT_EQ(ids_a, ids_b);
  EXPECT_EQ(ta[0].id.size(), 16u);
  // Anything that changes the number changes the id.
  PlanInputs other_weights{{{"resnet18", "cc"}, {"mbv2", "bb"}}, "fp", {}, nullptr};
  EXPECT_NE(make_plan(a, other_weights)[0].id, ta[0].id);
  PlanInputs other_data{{{"resnet18", "aa"}, {"mbv2", "bb"}}, "fp2", {}, nullptr};
  EXPECT_NE(make_plan(a, other_data)[0].id, ta[0].id);
  // A fixed reference: the id of this resolved configuration must never drift between versions.
  EXPECT_EQ(ta[0].config_json.substr(0, 30), R"({"a_calib":"ema_minmax","abit")");
}

TEST(Plan, DuplicatesCollapse) {
  const auto s = parse(R"(grid:
  - product: {model: resnet18, backend: academic, w_calib: minmax, a_calib: ema_minmax, wbit: 8, abit: 8}
  - product: {model: resnet18, backend: academic, w_calib: minmax, a_calib: ema_minmax, wbit: 8, abit: 8}
)");
  EXPECT_EQ(s.cells.size(), 2u);
  EXPECT_EQ(make_plan(s, {}).size(), 1u);
}

// `plan` needs no data: unset variables and missing files are collected, not thrown at parse
// time, and reported all at once with the sweep file:line:col, the key and a hint.
TEST(Inputs, EveryMissingInputListedWithItsPlace) {
  const auto s = parse_sweep("sweep: t\ndata:\n  eval: ${QSWEEP_SURELY_UNSET}/v.h5\n  calibration: /nonexistent/c.h5\n"
                             "models: {r: {arch: resnet18, weights: /nonexistent/r.pth}}\n" + kGood.substr(0, 6) +
                                 "  - product: {model: r, backend: academic, w_calib: minmax, a_calib: ema_minmax, "
                                 "wbit: 8, abit: 8}\n",
                             "t.yaml");
  ASSERT_EQ(s.inputs.size(), 3u);
  EXPECT_EQ(s.inputs[0].unset_var, "QSWEEP_SURELY_UNSET");
  const auto missing = missing_inputs(s);
  ASSERT_EQ(missing.size(), 3u);
  EXPECT_EQ(missing[0].rfind("t.yaml:3:9: data.eval: environment variable QSWEEP_SURELY_UNSET is not set", 0), 0u)
      << missing[0];
  EXPECT_EQ(missing[1].rfind("t.yaml:4:16: data.calibration: '/nonexistent/c.h5' does not exist; shards come from", 0),
            0u)
      << missing[1];
  EXPECT_EQ(missing[2].rfind("t.yaml:5:39: models.r.weights: '/nonexistent/r.pth' does not exist; ImageNet", 0), 0u)
      << missing[2];
  try {
    require_inputs(s);
    FAIL() << "missing inputs accepted";
  } catch (const SweepError& e) {
    EXPECT_NE(std::string(e.what()).find("3 input(s) of the sweep cannot be read"), std::string::npos) << e.what();
  }
  EXPECT_THROW(CellRunner(s, c10::Device(c10::kCPU)).plan_inputs(), SweepError);
}

TEST(Overrides, SetChangesEveryCellIsValidatedAndChangesIds) {
  auto s = parse(R"(grid:
  - product: {model: resnet18, backend: academic, w_calib: mse, a_calib: ema_mse, wbit: 4, abit: 8}
    options: {a_p: 3.0}
  - product: {model: mbv2, backend: academic, w_calib: adaround, a_calib: ema_mse, wbit: 4, abit: 8}
)");
  const auto before = make_plan(s, {});
  apply_overrides(s, {"a_p=2.4", "iterations=50", "seed=7"});
  EXPECT_EQ(s.cells[0].options.a_p, 2.4);  // the block's own a_p is overridden too
  EXPECT_EQ(s.cells[1].options.iterations, 50);
  EXPECT_EQ(s.seed, 7u);
  EXPECT_NE(s.text.find("# qsweep run --set a_p=2.4 iterations=50 seed=7"), std::string::npos);
  const auto after = make_plan(s, {});
  EXPECT_NE(before[0].id, after[0].id);
  const auto message = [&](const std::string& a) {
    try {
      apply_overrides(s, {a});
    } catch (const UsageError& e) {  // a --set is the command line's: exit 1
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("a_p=9").find("a_p: 9 not in [1, 8]"), std::string::npos) << message("a_p=9");
  EXPECT_EQ(message("a_p=9").rfind("--set:", 0), 0u);
  EXPECT_NE(message("iteration=5").find("did you mean 'iterations'?"), std::string::npos);
  EXPECT_NE(message("a_p").find("expected key=value"), std::string::npos);
  EXPECT_NE(message("iterations=0").find("iterations"), std::string::npos);
}

// A 4-image 1x4x4 shard whose pixels are all 0xAB.
void write_shard(const std::string& path, const std::vector<std::string>& classes) {
  data::ShardInfo info;
  info.path = path, info.split = "val", info.source = "synthetic", info.transform = "none";
  info.channels = 1, info.height = info.width = 4, info.mean = {0.f}, info.std = {1.f};
  info.class_names = classes;
  data::ShardWriter w(info);
  std::vector<uint8_t> img(16, 0xAB);
  for (int64_t i = 0; i < 4; ++i) {
    const int64_t label = i % 2;
    w.append(img.data(), &label, 1);
  }
  w.finish();
}

// A sweep over one model whose eval and calibration shards are `dir`/e.h5 and `dir`/c.h5.
std::string shard_sweep(const std::filesystem::path& dir) {
  { std::ofstream(dir / "w.pth") << "weights"; }
  return "sweep: t\ndata: {eval: " + (dir / "e.h5").string() + ", calibration: " + (dir / "c.h5").string() +
         "}\nmodels: {r: {arch: resnet18, weights: " + (dir / "w.pth").string() + "}}\n" + kGood.substr(0, 6) +
         "  - product: {model: r, backend: academic, w_calib: minmax, a_calib: ema_minmax, wbit: 8, abit: 8}\n";
}

// A shard altered after it was written (same layout, other content) is refused before any task,
// naming the sweep's place for it, instead of giving numbers under its old fingerprint.
TEST(Inputs, AnAlteredShardIsRefusedWithItsPlace) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("qsweep_altered_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* name : {"e.h5", "c.h5"}) write_shard((dir / name).string(), {"a", "b"});
  const std::string text = shard_sweep(dir);
  EXPECT_NO_THROW(CellRunner(parse_sweep(text, "t.yaml"), c10::Device(c10::kCPU)).plan_inputs());
  {
    std::fstream f(dir / "e.h5", std::ios::in | std::ios::out | std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const auto at = all.find(std::string(16, static_cast<char>(0xAB)));
    ASSERT_NE(at, std::string::npos);
    f.seekp(static_cast<std::streamoff>(at + 3));
    f.put(0x00);
  }
  try {
    CellRunner(parse_sweep(text, "t.yaml"), c10::Device(c10::kCPU)).plan_inputs();
    FAIL() << "an altered shard was accepted";
  } catch (const SweepError& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.rfind("t.yaml:2:14: data.eval: " + (dir / "e.h5").string() + ": content fingerprint", 0), 0u) << m;
    EXPECT_NE(m.find("does not match the stored"), std::string::npos) << m;
  }
  fs::remove_all(dir);
}

// A calibration shard that does not belong with the eval shard (here: another class list) is
// refused with the sweep's place for it and what differs.
TEST(Inputs, ACalibrationShardOfAnotherDatasetIsRefused) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("qsweep_mismatch_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  write_shard((dir / "e.h5").string(), {"a", "b"});
  write_shard((dir / "c.h5").string(), {"a", "b", "c"});
  try {
    CellRunner(parse_sweep(shard_sweep(dir), "t.yaml"), c10::Device(c10::kCPU)).plan_inputs();
    FAIL() << "mismatched shards accepted";
  } catch (const SweepError& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.rfind("t.yaml:2:", 0), 0u) << m;
    EXPECT_NE(m.find("data.calibration: " + (dir / "c.h5").string() + " does not belong with data.eval"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("class lists (2 and 3 classes)"), std::string::npos) << m;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace qsweep::sweep

namespace qsweep::sweep {
namespace {

// The runner's group sizes: a cell's `group_size` wins over --group-size; auto groups stay within
// the calibration batch (each rank takes a part of every batch) and within the ranks.
TEST(GroupPlan, CellOptionWinsAndAutoIsCappedAtTheCalibrationBatch) {
  const auto s = parse_sweep(R"(sweep: t
data: {eval: e.h5, calibration: c.h5, batch_size: 3}
models:
  resnet18: {arch: resnet18, weights: r18.pth}
grid:
  - include:
      - {model: resnet18, backend: academic, w_calib: adaround, a_calib: ema_minmax, wbit: 4, abit: 8}
  - include:
      - {model: resnet18, backend: academic, w_calib: minmax, a_calib: ema_minmax, wbit: 8, abit: 8}
    options: {group_size: 2}
  - include:
      - {model: resnet18, backend: academic, w_calib: minmax, a_calib: ema_minmax, wbit: 4, abit: 8}
)",
                              "t.yaml");
  const auto tasks = make_plan(s, PlanInputs{});
  ASSERT_EQ(tasks.size(), 3u);
  ASSERT_GT(tasks[0].cost, 3 * tasks[2].cost);  // the AdaRound task is what needs a group
  EXPECT_EQ(plan_group_sizes(s, tasks, 1, 16), (std::vector<int>{1, 2, 1}));
  EXPECT_EQ(plan_group_sizes(s, tasks, 4, 16), (std::vector<int>{4, 2, 4}));   // explicit N is not capped
  EXPECT_EQ(plan_group_sizes(s, tasks, 0, 16), (std::vector<int>{3, 2, 1}));   // auto: at most batch_size 3
  // ... and at most the ranks; on 2 ranks the last task also takes both: nothing else is left.
  EXPECT_EQ(plan_group_sizes(s, tasks, 0, 2), (std::vector<int>{2, 2, 2}));
  EXPECT_EQ(plan_group_sizes(s, tasks, 0, 1), (std::vector<int>{1, 1, 1}));
}

}  // namespace
}  // namespace qsweep::sweep
