#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "pipeline/task.h"
#include "support/h5.h"
#include "results/store.h"
#include "temp_dir.h"

namespace qsweep::results {
namespace {

namespace fs = std::filesystem;

struct TempDir : testing::TempDir {
  TempDir() : testing::TempDir("qsweep_store_test_") {}
};

TaskCell cell(const std::string& id, const std::string& model = "resnet18") {
  return {id, model, "academic", "minmax", "ema_minmax", 8, 8};
}

RunInfo info() { return {0, "node1", "cpu", "2026-11-27T10:00:00Z", "2026-11-27T10:01:00Z", "ab" + std::string(62, 'c'), "fmnist:1234", {}}; }

pipeline::TaskResult result(int64_t top1, int64_t top5, int64_t total) {
  pipeline::TaskResult r;
  r.accuracy = {top1, top5, total};
  r.seconds = {{"prepare", 0.5}, {"calibrate_activations", 1.5}, {"calibrate_weights", 0.25}, {"evaluate", 2.0}};
  pipeline::QuantizerRecord w;
  w.name = "conv1.weight_fake_quant", w.is_weight = true, w.bits = 8, w.qmin = -128, w.qmax = 127;
  w.scale = {0.01f, 0.02f}, w.zero_point = {0, 0}, w.min_val = {-1.f, -2.f}, w.max_val = {1.f, 2.f};
  pipeline::QuantizerRecord a;
  a.name = "layer1_0_relu_post_act_fake_quantizer", a.bits = 8, a.qmin = 0, a.qmax = 255;
  a.scale = {0.05f}, a.zero_point = {3}, a.min_val = {-0.1f}, a.max_val = {12.5f};
  r.quantizers = {w, a};
  return r;
}

TEST(ResultsStore, CreateAppendReopenReadBack) {
  TempDir dir;
  const std::string path = dir.file("results/demo.h5");  // the folder is created
  {
    ResultsStore s(path);
    s.write_plan("demo", "name: demo\n", "{\"tasks\": 3}", {cell("t1"), cell("t2", "resnet50"), cell("t3")});
    s.append(make_task_row(cell("t1"), result(7093, 8950, 10000), info()), result(0, 0, 0).quantizers);
    s.append(make_failed_row(cell("t2", "resnet50"), "out of memory", info()));
    s.finish();
  }
  {
    ResultsStore s(path);  // resume: appends
    EXPECT_EQ(s.rows().size(), 2u);
    s.append(make_task_row(cell("t2", "resnet50"), result(7767, 9300, 10000), info()));
    auto reused = result(1, 2, 4);
    reused.activation_stats_reused = true;  // the rank's cache had t1's statistics
    s.append(make_task_row(cell("t3"), reused, info()));
  }
  ResultsStore s(path, ResultsStore::Mode::kReadOnly);
  EXPECT_EQ(s.sweep_name(), "demo");
  EXPECT_EQ(s.sweep_text(), "name: demo\n");
  EXPECT_EQ(s.plan_json(), "{\"tasks\": 3}");
  ASSERT_EQ(s.plan().size(), 3u);
  EXPECT_EQ(s.plan()[1].model, "resnet50");
  EXPECT_EQ(s.all_rows().size(), 4u);
  const auto rows = s.rows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].id, "t1");
  EXPECT_EQ(rows[1].id, "t2");
  EXPECT_EQ(rows[1].status, "ok");  // the retry wins
  EXPECT_DOUBLE_EQ(rows[1].top1, 77.67);
  const auto t1 = s.latest("t1");
  ASSERT_TRUE(t1);
  EXPECT_EQ(t1->status, "ok");
  EXPECT_DOUBLE_EQ(t1->top1, 70.93);
  EXPECT_DOUBLE_EQ(t1->top5, 89.5);
  EXPECT_EQ(t1->top1_count, 7093);
  EXPECT_EQ(t1->total, 10000);
  EXPECT_DOUBLE_EQ(t1->seconds_calibrate_activations, 1.5);
  EXPECT_EQ(t1->a_stats, "computed");
  EXPECT_EQ(s.latest("t3")->a_stats, "cached");
  EXPECT_DOUBLE_EQ(t1->seconds_total, 4.25);
  EXPECT_EQ(t1->host, "node1");
  EXPECT_EQ(t1->weights_sha256, "ab" + std::string(62, 'c'));
  EXPECT_EQ(t1->data_fingerprint, "fmnist:1234");
  EXPECT_EQ(t1->started, "2026-11-27T10:00:00Z");
  EXPECT_EQ(s.all_rows()[1].error, "out of memory");
  EXPECT_FALSE(s.latest("nope"));
  const auto q = s.quantizers("t1");
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q[0].name, "conv1.weight_fake_quant");
  EXPECT_TRUE(q[0].is_weight);
  EXPECT_EQ(q[0].qmin, -128);
  EXPECT_EQ(q[0].scale, (std::vector<float>{0.01f, 0.02f}));
  EXPECT_EQ(q[1].zero_point, (std::vector<int32_t>{3}));
  EXPECT_EQ(q[1].max_val, (std::vector<float>{12.5f}));
  const auto runs = s.runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_FALSE(runs[0].finished.empty());
  EXPECT_TRUE(runs[1].finished.empty());  // the second writer never called finish()
  EXPECT_FALSE(runs[0].torch_version.empty());
  auto f = h5::File::open(path);
  EXPECT_EQ(f.schema_version(), kSchemaVersion);
  EXPECT_EQ(f.attribute<std::string>("sweep"), "demo");
}

// The deployment check's columns round-trip; a file written before they existed reads its rows
// with their defaults and takes new rows without them (HDF5 matches compound members by name).
TEST(ResultsStore, DeployColumnsAndFilesWrittenBeforeThem) {
  TempDir dir;
  const std::string path = dir.file("deploy.h5");
  {
    ResultsStore s(path);
    auto r = make_task_row(cell("t1"), result(7093, 8950, 10000), info());
    r.deploy = "onednn", r.int_top1 = 70.88, r.int_top1_count = 7088, r.agree = 0.9975, r.seconds_deploy_check = 1.5;
    s.append(r);
    s.append(make_task_row(cell("t2"), result(7000, 8900, 10000), info()));
  }
  const auto rows = ResultsStore(path, ResultsStore::Mode::kReadOnly).rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].deploy, "onednn");
  EXPECT_EQ(rows[0].int_top1, 70.88);
  EXPECT_EQ(rows[0].int_top1_count, 7088);
  EXPECT_EQ(rows[0].agree, 0.9975);
  EXPECT_EQ(rows[0].seconds_deploy_check, 1.5);
  EXPECT_EQ(rows[1].deploy, "");
  EXPECT_TRUE(std::isnan(rows[1].int_top1));

  // A /tasks table of the columns before the check (a subset suffices: HDF5 matches by name).
  struct OldRow {
    const char* id;
    const char* status;
    double top1;
  };
  const std::string old = dir.file("old.h5");
  {
    auto f = h5::File::create(old, kSchemaVersion);
    h5::CompoundType t(sizeof(OldRow));
    t.add_string("id", offsetof(OldRow, id)).add_string("status", offsetof(OldRow, status));
    t.add<double>("top1", offsetof(OldRow, top1));
    const OldRow row{"o1", "ok", 61.5};
    f.create_table("tasks", t).append(t, &row, 1);
    h5::CompoundType run(sizeof(const char*));
    run.add_string("host", 0);
    f.create_table("runs", run);
  }
  const auto before = ResultsStore(old, ResultsStore::Mode::kReadOnly).rows();
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(before[0].id, "o1");
  EXPECT_EQ(before[0].top1, 61.5);
  EXPECT_EQ(before[0].deploy, "");
  EXPECT_TRUE(std::isnan(before[0].int_top1));
  EXPECT_TRUE(std::isnan(before[0].agree));
  {
    ResultsStore s(old);
    s.append(make_task_row(cell("t3"), result(6000, 8000, 10000), info()));  // a row without the check
    auto r = make_task_row(cell("t4"), result(5000, 8000, 10000), info());
    r.deploy = "onednn", r.int_top1 = 49.0;
    try {
      s.append(r);  // its figures would be dropped: refused instead
      ADD_FAILURE() << "a deploy row appended to a table without the columns";
    } catch (const ResultsError& e) {
      EXPECT_NE(std::string(e.what()).find("predates the deployment check's columns"), std::string::npos) << e.what();
    }
  }
  const auto after = ResultsStore(old, ResultsStore::Mode::kReadOnly).rows();
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[1].id, "t3");
  EXPECT_EQ(after[1].top1, 60.0);
}

TEST(ResultsStore, RejectsBadNamesAndStatus) {
  TempDir dir;
  ResultsStore s(dir.file("r.h5"));
  auto row = make_task_row(cell("a/b"), result(1, 1, 1), info());
  EXPECT_THROW(s.append(row), ResultsError);
  row.id = "ok_id";
  row.status = "done";
  EXPECT_THROW(s.append(row), ResultsError);
  EXPECT_TRUE(s.rows().empty());
}

// The child appends rows forever, reporting each flushed append on a pipe; the parent kills it
// with SIGKILL at an arbitrary point and reopens the file.
TEST(ResultsStore, SigkillMidLoopKeepsEveryFlushedRow) {
  TempDir dir;
  const std::string path = dir.file("killed.h5");
  for (int round = 0; round < 3; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      try {
        ResultsStore s(path);
        const auto q = result(0, 0, 0).quantizers;
        for (int i = 0;; ++i) {
          auto id = "r" + std::to_string(round) + "_" + std::to_string(i);
          auto row = make_task_row(cell(id), result(i, i, 100000), info());
          row.error = std::string(static_cast<size_t>(i % 50), 'x');  // strings of varying length
          s.append(row, q);
          const char c = 1;
          if (write(fds[1], &c, 1) != 1) _exit(3);
        }
      } catch (...) {
        _exit(2);
      }
    }
    close(fds[1]);
    int reported = 0;
    char c;
    const int target = 20 + 37 * round;
    while (reported < target && read(fds[0], &c, 1) == 1) ++reported;
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
    ASSERT_EQ(reported, target);

    ResultsStore s(path, ResultsStore::Mode::kReadOnly);
    int in_round = 0;
    for (const auto& r : s.all_rows()) {
      if (r.id.rfind("r" + std::to_string(round) + "_", 0) != 0) continue;
      const int i = std::stoi(r.id.substr(r.id.find('_') + 1));
      EXPECT_EQ(i, in_round);  // rows complete and in order
      EXPECT_EQ(r.top1_count, i);
      EXPECT_EQ(r.error, std::string(static_cast<size_t>(i % 50), 'x'));
      EXPECT_EQ(s.quantizers(r.id).size(), 2u);
      ++in_round;
    }
    EXPECT_GE(in_round, target) << "round " << round;
    EXPECT_EQ(s.runs().size(), static_cast<size_t>(round + 1));
  }
}

std::string run_python(const std::string& script) {
  const std::string cmd = "/usr/bin/python3 -c '" + script + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return "popen failed";
  std::string out;
  char buf[256];
  while (fgets(buf, sizeof(buf), p)) out += buf;
  const int rc = pclose(p);
  return rc == 0 ? out : "rc " + std::to_string(rc) + ": " + out;
}

TEST(ResultsStore, ReadableWithH5pyAndPandas) {
  if (!fs::exists("/usr/bin/python3") || run_python("import h5py") != "") GTEST_SKIP() << "python3-h5py missing";
  TempDir dir;
  const std::string path = dir.file("py.h5");
  {
    ResultsStore s(path);
    s.write_plan("demo", "name: demo\n", "{}", {cell("t1"), cell("t2")});
    s.append(make_task_row(cell("t1"), result(7093, 8950, 10000), info()), result(0, 0, 0).quantizers);
    s.append(make_failed_row(cell("t2"), "boom", info()));
    s.finish();
  }
  const std::string out = run_python(
      "import h5py\n"
      "f = h5py.File(\"" + path + "\", \"r\")\n"
      "t = f[\"tasks\"][:]\n"
      "print(f.attrs[\"schema_version\"], len(t), t.dtype.names[:3])\n"
      "print(t[\"id\"][0].decode(), t[\"status\"][1].decode(), t[\"error\"][1].decode(), round(float(t[\"top1\"][0]), 2))\n"
      "q = f[\"task/t1/quantizers/conv1.weight_fake_quant\"]\n"
      "print(list(q[\"scale\"][:].round(3)), q.attrs[\"qmin\"], q.attrs[\"is_weight\"])\n"
      "print(f[\"plan/tasks\"][:][\"id\"][1].decode(), f[\"sweep/text\"][()].decode().strip())\n");
  EXPECT_EQ(out,
            "1 2 ('id', 'model', 'backend')\n"
            "t1 failed boom 70.93\n"
            "[0.01, 0.02] -128 1\n"
            "t2 name: demo\n");
  if (run_python("import pandas") != "") GTEST_SKIP() << "pandas missing; h5py checked";
  const std::string df = run_python(
      "import h5py, pandas as pd\n"
      "d = pd.DataFrame(h5py.File(\"" + path + "\", \"r\")[\"tasks\"][:])\n"
      "print(d.shape[0], d[\"top1_count\"].sum())\n");
  EXPECT_EQ(df, "2 7093\n");
}

}  // namespace
}  // namespace qsweep::results
