#include "sweep/cell_json.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace qsweep::sweep {
namespace {

using json = nlohmann::json;

template <class T>
json to_json_value(const T& v) {
  return v;
}
template <class T>
json to_json_value(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

template <class T>
void from_json_value(const json& j, T& out) {
  out = j.get<T>();
}
template <class T>
void from_json_value(const json& j, std::optional<T>& out) {
  out = j.is_null() ? std::nullopt : std::optional<T>(j.get<T>());
}

}  // namespace

std::string cell_to_json(const Cell& c) {
  json options = json::object();
  for_each_option(c.options, [&](const char* name, const auto& v) { options[name] = to_json_value(v); });
  json layers = json::array();
  for (const auto& r : c.layers) layers.push_back({{"rule", json::parse(r.to_json())}, {"origin", r.origin}});
  const json j = {{"model", c.model}, {"backend", c.backend}, {"w_calib", c.w_calib}, {"a_calib", c.a_calib},
                  {"wbit", c.wbit},   {"abit", c.abit},       {"options", options},   {"layers", layers}};
  return j.dump();
}

Cell cell_from_json(const std::string& text) {
  try {
    const json j = json::parse(text);
    Cell c;
    c.model = j.at("model");
    c.backend = j.at("backend");
    c.w_calib = j.at("w_calib");
    c.a_calib = j.at("a_calib");
    c.wbit = j.at("wbit");
    c.abit = j.at("abit");
    const json& o = j.at("options");
    for_each_option(c.options, [&](const char* name, auto& v) { from_json_value(o.at(name), v); });
    for (const auto& r : j.at("layers")) {
      c.layers.push_back(quant::LayerRule::from_json(r.at("rule").dump()));
      c.layers.back().origin = r.at("origin");
    }
    return c;
  } catch (const json::exception& e) {
    throw SweepError(fmt::format("malformed cell JSON ({}): {}", e.what(), text.substr(0, 200)));
  }
}

}  // namespace qsweep::sweep
