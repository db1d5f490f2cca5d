// Every field of a results row reaches every encoder: the HDF5 table, the JSON row a worker rank
// sends, the tidy export and the row_fields() list. The row is filled generically from the field
// list (each field a distinct, non-default value), so a field added to row_fields.def or
// cell_fields.def is covered here without editing this test.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <set>
#include <sstream>
#include <type_traits>

#include "results/export.h"
#include "results/row_fields.h"
#include "results/store.h"
#include "temp_dir.h"

namespace qsweep::results {
namespace {

// A row whose every field differs from its default and from every other field.
TaskRow distinct_row() {
  TaskRow r;
  int i = 0;
  for_each_field(r, [&](const char* name, auto& v) {
    using T = std::decay_t<decltype(v)>;
    ++i;
    if constexpr (std::is_same_v<T, std::string>) v = std::string("v_") + name;
    else if constexpr (std::is_same_v<T, double>) v = i + 0.25;
    else v = static_cast<T>(100 + i);
  });
  r.id = "t0001", r.status = "ok";  // what the store accepts
  return r;
}

// Every field of `a` equals `b`'s, by name (NaN equals NaN).
void expect_same(const TaskRow& a, const TaskRow& b, const std::string& via) {
  const auto fa = row_fields(a), fb = row_fields(b);
  ASSERT_EQ(fa.size(), fb.size());
  for (size_t i = 0; i < fa.size(); ++i) {
    EXPECT_EQ(field_text(fa[i].value), field_text(fb[i].value)) << via << ": field " << fa[i].name;
  }
}

TEST(FieldCoverage, TheRowListNamesEveryFieldOnceWithItsValue) {
  const TaskRow r = distinct_row();
  const auto fields = row_fields(r);
  std::set<std::string> names, values;
  for (const auto& f : fields) {
    names.insert(f.name);
    values.insert(field_text(f.value));
  }
  EXPECT_EQ(names.size(), fields.size());
  EXPECT_EQ(values.size(), fields.size());  // no field reads another's member
  size_t n = 0;
  for_each_field(r, [&](const char*, const auto&) { ++n; });
  EXPECT_EQ(fields.size(), n);
}

TEST(FieldCoverage, EveryFieldSurvivesTheWire) {
  const TaskRow r = distinct_row();
  expect_same(r, row_from_json(row_to_json(r)), "json");
  TaskRow nan = r;
  nan.int_top1 = std::numeric_limits<double>::quiet_NaN();
  nan.agree = std::numeric_limits<double>::infinity();
  const TaskRow back = row_from_json(nlohmann::json::parse(row_to_json(nan).dump()));
  EXPECT_TRUE(std::isnan(back.int_top1));
  EXPECT_TRUE(std::isinf(back.agree));
  nlohmann::json missing = row_to_json(r);
  missing.erase("layers");
  EXPECT_ANY_THROW(row_from_json(missing));
}

TEST(FieldCoverage, EveryFieldSurvivesTheResultsFile) {
  testing::TempDir dir("qsweep_field_coverage_");
  const TaskRow r = distinct_row();
  {
    ResultsStore store(dir.file("r.h5"));
    store.write_plan("s", "sweep: s\n", "[]", {r.cell()});
    store.append(r);
  }
  ResultsStore read(dir.file("r.h5"), ResultsStore::Mode::kReadOnly);
  const auto rows = read.all_rows();
  ASSERT_EQ(rows.size(), 1u);
  expect_same(r, rows[0], "hdf5");
  const auto plan = read.plan();
  ASSERT_EQ(plan.size(), 1u);
  expect_same(row_of(r.cell()), row_of(plan[0]), "hdf5 plan");
}

TEST(FieldCoverage, EveryFieldIsAnExportColumn) {
  testing::TempDir dir("qsweep_field_coverage_");
  const TaskRow r = distinct_row();
  {
    ResultsStore store(dir.file("r.h5"));
    store.append(r);
  }
  ResultsStore read(dir.file("r.h5"), ResultsStore::Mode::kReadOnly);
  std::ostringstream out;
  export_tasks(read, ExportFormat::kJsonl, out);
  const auto j = nlohmann::json::parse(out.str().substr(0, out.str().find('\n')));
  for (const auto& f : row_fields(r)) {
    ASSERT_TRUE(j.contains(f.name)) << f.name;
    if (const auto* s = std::get_if<std::string>(&f.value)) {
      EXPECT_EQ(j.at(f.name), *s) << f.name;
    }
  }
}

}  // namespace
}  // namespace qsweep::results
