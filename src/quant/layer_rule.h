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
  // Canonical JSON text of what the rule computes (origin left out): part of the task id.
  std::string to_json() const;
  static LayerRule from_json(const std::string& text);
  // "conv1: w8 a8", "layer4.*: float", "re:^fc$: w8 a_observer=ema_mse".
  std::string label() const;
};

// The rules' canonical JSON array text ("[]" when none).
std::string rules_to_json(const std::vector<LayerRule>& rules);
std::vector<LayerRule> rules_from_json(const std::string& text);
// "conv1: w8 a8; fc: w8 a8" ("" when none): how results tables tell override rows apart.
std::string rules_label(const std::vector<LayerRule>& rules);
// Throws QuantError when a glob or regex is malformed, naming the rule's origin.
void validate_pattern(const LayerRule& rule);

}  // namespace qsweep::quant
