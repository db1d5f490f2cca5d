#include "results/row_fields.h"

#include <fmt/format.h>

#include "results/labels.h"

namespace qsweep::results {

std::vector<RowField> row_fields(const TaskRow& r) {
  return {{"id", r.id},
          {"model", r.model},
          {"backend", r.backend},
          {"w_calib", r.w_calib},
          {"a_calib", r.a_calib},
          {"wbit", int64_t{r.wbit}},
          {"abit", int64_t{r.abit}},
          {"status", r.status},
          {"top1", r.top1},
          {"top5", r.top5},
          {"top1_count", r.top1_count},
          {"top5_count", r.top5_count},
          {"total", r.total},
          {"seconds_prepare", r.seconds_prepare},
          {"seconds_calibrate_activations", r.seconds_calibrate_activations},
          {"seconds_calibrate_weights", r.seconds_calibrate_weights},
          {"seconds_reconstruct", r.seconds_reconstruct},
          {"seconds_evaluate", r.seconds_evaluate},
          {"seconds_total", r.seconds_total},
          {"rank", int64_t{r.rank}},
          {"host", r.host},
          {"device", r.device},
          {"error", r.error},
          {"started", r.started},
          {"finished", r.finished},
          {"weights_sha256", r.weights_sha256},
          {"data_fingerprint", r.data_fingerprint},
          {"deploy", r.deploy},
          {"int_top1", r.int_top1},
          {"int_top1_count", r.int_top1_count},
          {"agree", r.agree},
          {"seconds_deploy_check", r.seconds_deploy_check},
          {"ranks", r.ranks}};
}

std::vector<std::string> row_field_names() {
  std::vector<std::string> names;
  for (const auto& f : row_fields(TaskRow{})) names.emplace_back(f.name);
  return names;
}

std::string field_text(const FieldValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* i = std::get_if<int64_t>(&v)) return fmt::format("{}", *i);
  return fmt::format("{}", std::get<double>(v));
}

std::string cell_label(const TaskRow& r) {
  if (r.wbit == 32) return fmt::format("{} {} FP32", r.model, backend_label(r.backend));
  return fmt::format("{} {} {}/{} W{}A{}", r.model, backend_label(r.backend), calibrator_label(r.w_calib),
                     calibrator_label(r.a_calib), r.wbit, r.abit);
}

}  // namespace qsweep::results
