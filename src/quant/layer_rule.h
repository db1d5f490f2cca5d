// Per-layer overrides (sweep files' `layers:`): a rule selects nodes by name and changes how they
// are quantized. Rules apply in order after the backend's own rules, each matching rule setting
// the keys it names, so a later rule wins over an earlier one and over the backend.
//
//   LayerRule r;  r.pattern = "@first";  r.wbit = 8;  r.abit = 8;     // the first conv at W8A8
//   LayerRule f;  f.pattern = "layer4.*";  f.keep_float = true;       // layer4 unquantized
//
// A rule's settings are those of the node as a consumer: wbit/w_* its weight quantizer; abit/a_*
// the quantizers of the values it reads (a value read by several quantized nodes takes the most
// bits among them, as the first/last rule of SPEC §3.1 does); keep_float: no weight quantizer, and
// the node reads its inputs unquantized.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace qsweep::quant {

struct LayerRule {
  // A glob on node names ("layer1.*", "fc", "*.conv2"; fnmatch rules), a regex when `regex` is set
  // (ECMAScript, whole name), or "@first" / "@last": the weighted nodes reading the graph input /
  // producing a graph output.
  std::string pattern;
  bool regex = false;
  std::optional<int> wbit, abit;                     // 2..8
  std::optional<std::string> w_observer, a_observer;  // observer registry names
  std::optional<bool> w_symmetric, w_per_channel, a_symmetric;
  bool keep_float = false;
  std::string origin;  // where the rule was written ("s.yaml:14:9"), for messages; not part of its identity

  bool matches(const std::string& node_name, bool first, bool last) const;
  // The same test with the regex compiled once, for matching many nodes.
  std::function<bool(const std::string& node_name, bool first, bool last)> matcher() const;
  // Canonical JSON text of what the rule computes (origin left out): part of the task id.
  std::string to_json() const;
  static LayerRule from_json(const std::string& text);
  // "conv1: w8 a8", "layer4.*: float", "re:^fc$: w8 a_observer=ema_mse".
  std::string label() const;
};

// Calls fn(key, member) for each optional setting of a rule, in the sweep file's key order: the one
// list the sweep-file reader, the JSON form and the label are written over. A new setting is a
// member above, a line here, and its effect in the layer-overrides pass (placement.cpp).
template <class Rule, class Fn>
void for_each_setting(Rule& r, Fn&& fn) {
  fn("wbit", r.wbit);
  fn("abit", r.abit);
  fn("w_observer", r.w_observer);
  fn("a_observer", r.a_observer);
  fn("w_symmetric", r.w_symmetric);
  fn("w_per_channel", r.w_per_channel);
  fn("a_symmetric", r.a_symmetric);
}

// The rules' canonical JSON array text ("[]" when none).
std::string rules_to_json(const std::vector<LayerRule>& rules);
std::vector<LayerRule> rules_from_json(const std::string& text);
// "conv1: w8 a8; fc: w8 a8" ("" when none): how results tables tell override rows apart.
std::string rules_label(const std::vector<LayerRule>& rules);
// What is wrong with a rule's pattern (a malformed regex, an unknown @name); "" when nothing.
std::string pattern_problem(const LayerRule& rule);
// Throws QuantError with pattern_problem, after the rule's origin.
void validate_pattern(const LayerRule& rule);

}  // namespace qsweep::quant
