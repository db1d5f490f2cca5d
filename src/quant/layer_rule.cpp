#include "quant/layer_rule.h"

#include <fmt/format.h>
#include <fnmatch.h>
#include <nlohmann/json.hpp>

#include <regex>
#include <type_traits>

#include "quant/qscheme.h"

namespace qsweep::quant {
namespace {

using json = nlohmann::json;

json rule_json(const LayerRule& r) {
  json j = json::object();
  j["match"] = r.pattern;
  if (r.regex) j["regex"] = true;
  for_each_setting(r, [&](const char* key, const auto& v) {
    if (v) j[key] = *v;
  });
  if (r.keep_float) j["float"] = true;
  return j;
}

LayerRule rule_of(const json& j) {
  LayerRule r;
  r.pattern = j.at("match").get<std::string>();
  r.regex = j.value("regex", false);
  for_each_setting(r, [&](const char* key, auto& v) {
    if (j.contains(key)) v = j.at(key).get<typename std::decay_t<decltype(v)>::value_type>();
  });
  r.keep_float = j.value("float", false);
  return r;
}

// "w8", "a4", "w_observer=mse", "w_symmetric=true".
template <class T>
std::string setting_label(const char* key, const T& v) {
  if constexpr (std::is_same_v<T, int>) {
    if (std::string(key) == "wbit" || std::string(key) == "abit") return fmt::format("{}{}", key[0], v);
  }
  return fmt::format("{}={}", key, v);
}

}  // namespace

bool LayerRule::matches(const std::string& name, bool first, bool last) const { return matcher()(name, first, last); }

std::function<bool(const std::string&, bool, bool)> LayerRule::matcher() const {
  if (pattern == "@first") return [](const std::string&, bool first, bool) { return first; };
  if (pattern == "@last") return [](const std::string&, bool, bool last) { return last; };
  if (regex) {
    return [re = std::regex(pattern, std::regex::ECMAScript)](const std::string& name, bool, bool) {
      return std::regex_match(name, re);
    };
  }
  return [glob = pattern](const std::string& name, bool, bool) { return fnmatch(glob.c_str(), name.c_str(), 0) == 0; };
}

std::string LayerRule::to_json() const { return rule_json(*this).dump(); }
LayerRule LayerRule::from_json(const std::string& text) { return rule_of(json::parse(text)); }

std::string LayerRule::label() const {
  std::string out = (regex ? "re:" : "") + pattern + ":";
  if (keep_float) return out + " float";
  for_each_setting(*this, [&](const char* key, const auto& v) {
    if (v) out += " " + setting_label(key, *v);
  });
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

std::string pattern_problem(const LayerRule& r) {
  if (r.pattern.empty()) return "match: an empty pattern selects no layer";
  if (r.pattern[0] == '@') {
    if (r.pattern != "@first" && r.pattern != "@last") {
      return fmt::format("match: '{}' is not @first or @last (the only named selections)", r.pattern);
    }
    return "";
  }
  if (!r.regex) return "";  // every glob is well-formed for fnmatch
  try {
    std::regex re(r.pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return fmt::format("regex '{}' is malformed: {}", r.pattern, e.what());
  }
  return "";
}

void validate_pattern(const LayerRule& r) {
  const std::string problem = pattern_problem(r);
  if (!problem.empty()) throw QuantError(fmt::format("{}: {}", r.origin.empty() ? "layers" : r.origin, problem));
}

}  // namespace qsweep::quant
