// Key mapping and strict loading. The graph's names follow BRECQ/MQBench and pycls (the
// benchmark's checkpoints); torchvision's module paths are rewritten onto them.
#include "models/weights.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <fmt/format.h>

#include <map>
#include <regex>
#include <set>

#include "models/zoo.h"
#include "support/strings.h"

namespace qsweep::models {
namespace {

std::string family_of(const std::string& graph_name) {
  try {
    return model_info(graph_name).family;
  } catch (const ModelError&) {
    return "";
  }
}

// torchvision mobilenet_v2 → BRECQ: nested Conv2dNormActivation indices flatten into conv.0..7.
std::string mobilenet_from_torchvision(const std::string& key) {
  static const std::regex block(R"(^features\.(\d+)\.conv\.(\d+)(?:\.(\d+))?\.(.*)$)");
  std::smatch m;
  if (!std::regex_match(key, m, block)) return key;
  const int index = std::stoi(m[1]);
  const int outer = std::stoi(m[2]);
  const bool nested = m[3].matched;
  const int inner = nested ? std::stoi(m[3]) : 0;
  int flat;
  if (index == 1) {  // t = 1: [dw conv-bn-relu6], pw conv, bn
    flat = outer == 0 ? inner : outer + 2;
  } else {  // [pw conv-bn-relu6], [dw conv-bn-relu6], pw conv, bn
    flat = outer <= 1 ? outer * 3 + inner : outer + 4;
  }
  return fmt::format("features.{}.conv.{}.{}", index, flat, m[4].str());
}

// torchvision regnet_x_* → pycls.
std::string regnet_from_torchvision(const std::string& key) {
  static const std::regex stem(R"(^stem\.([01])\.(.*)$)");
  static const std::regex blk(R"(^trunk_output\.block(\d+)\.block\d+-(\d+)\.(proj|f\.a|f\.b|f\.c)\.([01])\.(.*)$)");
  static const std::regex fc(R"(^fc\.(.*)$)");
  std::smatch m;
  if (std::regex_match(key, m, stem)) return fmt::format("stem.{}.{}", m[1] == "0" ? "conv" : "bn", m[2].str());
  if (std::regex_match(key, m, fc)) return "head.fc." + m[1].str();
  if (std::regex_match(key, m, blk)) {
    const std::string prefix = fmt::format("s{}.b{}.", m[1].str(), std::stoi(m[2]) + 1);
    const std::string part = m[3];
    const bool bn = m[4] == "1";
    std::string name;
    if (part == "proj") {
      name = bn ? "bn" : "proj";
    } else {
      name = bn ? part + "_bn" : part;
    }
    return prefix + name + "." + m[5].str();
  }
  return key;
}

bool uses_torchvision_layout(const StateDict& sd, const std::string& family) {
  for (const auto& [k, v] : sd) {
    if (family == "mobilenetv2" && k.rfind("features.1.conv.0.0.", 0) == 0) return true;
    if (family == "regnetx" && (k.rfind("trunk_output.", 0) == 0 || k.rfind("stem.0.", 0) == 0)) return true;
  }
  return false;
}

}  // namespace

std::string canonical_name(const std::string& key, const std::string& family, bool torchvision_layout) {
  if (!torchvision_layout) return key;
  if (family == "mobilenetv2") return mobilenet_from_torchvision(key);
  if (family == "regnetx") return regnet_from_torchvision(key);
  return key;
}

void load_weights(graph::Graph& g, const StateDict& sd, const std::string& source) {
  const std::string family = family_of(g.name);
  const bool tv = uses_torchvision_layout(sd, family);
  std::map<std::string, at::Tensor> incoming;
  std::vector<std::string> unexpected, mismatched, missing;
  std::set<std::string> present;  // mis-shaped entries are reported as such, not as missing
  for (const auto& [key, value] : sd) {
    const std::string name = canonical_name(key, family, tv);
    if (!g.params.contains(name)) {
      unexpected.push_back(key);
      continue;
    }
    const auto& have = g.params.at(name);
    if (have.sizes() != value.sizes()) {
      mismatched.push_back(fmt::format("{} (checkpoint {}, model {})", key, c10::str(value.sizes()), c10::str(have.sizes())));
      present.insert(name);
      continue;
    }
    incoming[name] = value;
  }
  for (const auto& name : g.params.names()) {
    const bool optional = name.size() > 20 && name.compare(name.size() - 20, 20, ".num_batches_tracked") == 0;
    if (!incoming.count(name) && !present.count(name) && !optional) missing.push_back(name);
  }
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    auto list = [](const std::vector<std::string>& v) {
      std::vector<std::string> head(v.begin(), v.begin() + std::min<size_t>(v.size(), 12));
      return join(head) + (v.size() > head.size() ? fmt::format(", ... ({} in all)", v.size()) : "");
    };
    std::string msg = fmt::format("{}: does not fit {} ({} layout)", source, g.name, tv ? "torchvision" : "BRECQ/pycls");
    if (!missing.empty()) msg += fmt::format("\n  missing ({}): {}", missing.size(), list(missing));
    if (!unexpected.empty()) msg += fmt::format("\n  unexpected ({}): {}", unexpected.size(), list(unexpected));
    if (!mismatched.empty()) msg += fmt::format("\n  shape mismatch ({}): {}", mismatched.size(), list(mismatched));
    throw CheckpointError(msg);
  }
  at::NoGradGuard no_grad;
  for (auto& [name, value] : incoming) {
    auto& dst = g.params.at(name);
    dst = value.to(dst.device(), dst.scalar_type()).contiguous().clone();
  }
}

StateDict state_dict_of(const graph::Graph& g) {
  StateDict sd;
  for (const auto& name : g.params.names()) sd.emplace_back(name, g.params.at(name));
  return sd;
}

}  // namespace qsweep::models
