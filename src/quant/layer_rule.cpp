#include "quant/layer_rule.h"

#include <fmt/format.h>
#include <fnmatch.h>
#include <nlohmann/json.hpp>

#include <regex>

#include "quant/qscheme.h"

namespace qsweep::quant {
namespace {

using json = nlohmann::json;

template <class T>
void put(json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}
template <class T>
void get(const json& j, const char* key, std::optional<T>& v) {
  if (j.contains(key)) v = j.at(key).get<T>();
}

json rule_json(const LayerRule& r) {
  json j = json::object();
  j["match"] = r.pattern;
  if (r.regex) j["regex"] = true;
  put(j, "wbit", r.wbit);
  put(j, "abit", r.abit);
  put(j, "w_observer", r.w_observer);
  put(j, "a_observer", r.a_observer);
  put(j, "w_symmetric", r.w_symmetric);
  put(j, "w_per_channel", r.w_per_channel);
  put(j, "a_symmetric", r.a_symmetric);
  if (r.keep_float) j["float"] = true;
  return j;
}

LayerRule rule_of(const json& j) {
  LayerRule r;
  r.pattern = j.at("match").get<std::string>();
  r.regex = j.value("regex", false);
  get(j, "wbit", r.wbit);
  get(j, "abit", r.abit);
  get(j, "w_observer", r.w_observer);
  get(j, "a_observer", r.a_observer);
  get(j, "w_symmetric", r.w_symmetric);
  get(j, "w_per_channel", r.w_per_channel);
  get(j, "a_symmetric", r.a_symmetric);
  r.keep_float = j.value("float", false);
  return r;
}

}  // namespace

bool LayerRule::matches(const std::string& name, bool first, bool last) const {
  if (pattern == "@first") return first;
  if (pattern == "@last") return last;
  if (regex) return std::regex_match(name, std::regex(pattern, std::regex::ECMAScript));
  return fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

std::string LayerRule::to_json() const { return rule_json(*this).dump(); }
LayerRule LayerRule::from_json(const std::string& text) { return rule_of(json::parse(text)); }

std::string LayerRule::label() const {
  std::string out = (regex ? "re:" : "") + pattern + ":";
  if (keep_float) return out + " float";
  if (wbit) out += fmt::format(" w{}", *wbit);
  if (abit) out += fmt::format(" a{}", *abit);
  if (w_observer) out += " w_observer=" + *w_observer;
  if (a_observer) out += " a_observer=" + *a_observer;
  if (w_symmetric) out += fmt::format(" w_symmetric={}", *w_symmetric);
  if (w_per_channel) out += fmt::format(" w_per_channel={}", *w_per_channel);
  if (a_symmetric) out += fmt::format(" a_symmetric={}", *a_symmetric);
  return out;
}

std::string rules_to_json(const std::vector<LayerRule>& rules) {
  json a = json::array();
  for (const auto& r : rules) a.push_back(rule_json(r));
  return a.dump();
}

std::vector<LayerRule> rules_from_json(const std::string& text) {
  std::vector<LayerRule> out;
  for (const auto& j : json::parse(text)) out.push_back(rule_of(j));
  return out;
}

std::string rules_label(const std::vector<LayerRule>& rules) {
  std::string out;
  for (const auto& r : rules) out += (out.empty() ? "" : "; ") + r.label();
  return out;
}

void validate_pattern(const LayerRule& r) {
  const std::string where = r.origin.empty() ? "layers" : r.origin;
  if (r.pattern.empty()) throw QuantError(fmt::format("{}: match: an empty pattern selects no layer", where));
  if (r.pattern[0] == '@') {
    if (r.pattern != "@first" && r.pattern != "@last") {
      throw QuantError(fmt::format("{}: match: '{}' is not @first or @last (the only named selections)", where,
                                   r.pattern));
    }
    return;
  }
  if (!r.regex) return;  // every glob is well-formed for fnmatch
  try {
    std::regex re(r.pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw QuantError(fmt::format("{}: regex '{}' is malformed: {}", where, r.pattern, e.what()));
  }
}

}  // namespace qsweep::quant
