#include "sweep/cell_json.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace qsweep::sweep {
namespace {

using json = nlohmann::json;

json optional_to_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

std::optional<double> optional_from_json(const json& v) {
  return v.is_null() ? std::nullopt : std::optional<double>(v.get<double>());
}

}  // namespace

std::string cell_to_json(const Cell& c) {
  const TaskOptions& o = c.options;
  const json j = {{"model", c.model},
                  {"backend", c.backend},
                  {"w_calib", c.w_calib},
                  {"a_calib", c.a_calib},
                  {"wbit", c.wbit},
                  {"abit", c.abit},
                  {"options",
                   {{"w_p", o.w_p},
                    {"a_p", o.a_p},
                    {"ema_ratio", o.ema_ratio},
                    {"symmetric_range", o.symmetric_range},
                    {"iterations", o.iterations},
                    {"round_weight", optional_to_json(o.round_weight)},
                    {"warm_up", o.warm_up},
                    {"drop_prob", optional_to_json(o.drop_prob)},
                    {"deploy_check", o.deploy_check},
                    {"group_size", o.group_size ? json(*o.group_size) : json(nullptr)}}}};
  return j.dump();
}

Cell cell_from_json(const std::string& text) {
  try {
    const json j = json::parse(text);
    const json& o = j.at("options");
    Cell c;
    c.model = j.at("model");
    c.backend = j.at("backend");
    c.w_calib = j.at("w_calib");
    c.a_calib = j.at("a_calib");
    c.wbit = j.at("wbit");
    c.abit = j.at("abit");
    c.options.w_p = o.at("w_p");
    c.options.a_p = o.at("a_p");
    c.options.ema_ratio = o.at("ema_ratio");
    c.options.symmetric_range = o.at("symmetric_range");
    c.options.iterations = o.at("iterations");
    c.options.round_weight = optional_from_json(o.at("round_weight"));
    c.options.warm_up = o.at("warm_up");
    c.options.drop_prob = optional_from_json(o.at("drop_prob"));
    c.options.deploy_check = o.at("deploy_check");
    if (!o.at("group_size").is_null()) c.options.group_size = o.at("group_size").get<int>();
    return c;
  } catch (const json::exception& e) {
    throw SweepError(fmt::format("malformed cell JSON ({}): {}", e.what(), text.substr(0, 200)));
  }
}

}  // namespace qsweep::sweep
