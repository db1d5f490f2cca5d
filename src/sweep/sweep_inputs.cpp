// The sweep's input paths (sweep_spec.h): "${VAR}" expansion of the paths a sweep file names, and
// the report of every input that cannot be read, each with its sweep file:line and a hint.
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>

#include "sweep/sweep_spec.h"

namespace qsweep::sweep {

std::string expand_until_unset(const std::string& value, const std::string& where, std::string* unset) {
  std::string out;
  size_t i = 0;
  while (i < value.size()) {
    const size_t start = value.find("${", i);
    if (start == std::string::npos) {
      out += value.substr(i);
      break;
    }
    const size_t end = value.find('}', start);
    if (end == std::string::npos) throw SweepError(fmt::format("{}: unterminated '${{' in '{}'", where, value));
    out += value.substr(i, start - i);
    const std::string var = value.substr(start + 2, end - start - 2);
    const char* v = std::getenv(var.c_str());
    if (!v) {
      *unset = var;
      return out;
    }
    out += v;
    i = end + 1;
  }
  return out;
}

std::string expand_env(const std::string& value, const std::string& where) {
  std::string unset;
  std::string out = expand_until_unset(value, where, &unset);
  if (!unset.empty()) {
    throw SweepError(fmt::format("{}: environment variable {} is not set (used in '{}')", where, unset, value));
  }
  return out;
}

namespace {

std::string input_hint(const InputPath& in) {
  if (in.key.rfind("data.", 0) == 0) {
    return "shards come from `qsweep prepare imagenet --root DIR --out DIR` or `qsweep prepare fashion-mnist` "
           "(docs/imagenet.md)";
  }
  return "ImageNet checkpoints are torchvision's or BRECQ's files (docs/checkpoints.md); the demo zoo's are in "
         "models/demo/ (scripts/train-demo-zoo.sh remakes them)";
}

}  // namespace

std::vector<std::string> missing_inputs(const SweepSpec& spec) {
  std::vector<std::string> out;
  for (const auto& in : spec.inputs) {
    std::string problem;
    if (!in.unset_var.empty()) {
      problem = fmt::format("environment variable {} is not set (in '{}')", in.unset_var, in.written);
    } else {
      std::error_code ec;
      if (!std::filesystem::exists(in.path, ec)) problem = fmt::format("'{}' does not exist", in.path);
    }
    if (!problem.empty()) out.push_back(fmt::format("{}: {}: {}; {}", in.where, in.key, problem, input_hint(in)));
  }
  return out;
}

void require_inputs(const SweepSpec& spec) {
  const auto missing = missing_inputs(spec);
  if (missing.empty()) return;
  std::string msg = fmt::format("{}: {} input(s) of the sweep cannot be read:", spec.path, missing.size());
  for (const auto& m : missing) msg += "\n  " + m;
  throw SweepError(msg);
}

}  // namespace qsweep::sweep
