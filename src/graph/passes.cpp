// The name → pass table built from passes.def.
#include "graph/passes.h"

#include <functional>
#include <utility>

#include "support/strings.h"

namespace qsweep::graph {
namespace {

using PassFn = std::function<Preserved(Graph&, PassContext&)>;

const std::vector<std::pair<std::string, PassFn>>& table() {
  static const std::vector<std::pair<std::string, PassFn>> passes = {
#define QSWEEP_PASS(NAME, CLASS) {NAME, [](Graph& g, PassContext& c) { return CLASS{}.run(g, c); }},
#include "graph/passes.def"
#undef QSWEEP_PASS
  };
  return passes;
}

}  // namespace

std::vector<std::string> pass_names() {
  std::vector<std::string> names;
  for (const auto& [n, fn] : table()) names.push_back(n);
  return names;
}

Preserved run_pass(const std::string& name, Graph& g, PassContext& ctx) {
  for (const auto& [n, fn] : table()) {
    if (n == name) return fn(g, ctx);
  }
  throw GraphError(unknown_name_message("pass", name, pass_names()));
}

}  // namespace qsweep::graph
