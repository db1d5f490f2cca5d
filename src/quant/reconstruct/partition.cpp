// MQBench's extract_layer / extract_block / find_cur_node (mqbench/advanced_ptq.py) on the graph IR.
// torch.fx's node kinds map onto ops as follows: call_module = conv, bn, relu, pools, dropout and
// fake-quantizers; call_function/call_method = add, flatten (reshape) and mean; the graph output is
// a user of the output node. Consumer lists are ascending ids, which is fx's user order.
#include "quant/reconstruct/partition.h"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include "graph/topology.h"
#include "quant/qscheme.h"

namespace qsweep::quant::reconstruct {
namespace {

using graph::Op;

// fx call_function / call_method nodes: never the end of a unit (find_cur_node skips them).
bool is_function(Op op) { return op == Op::kAdd || op == Op::kFlatten || op == Op::kMean; }

class Walker {
 public:
  explicit Walker(const graph::Graph& g) : g_(g), users_(graph::consumers(g)) {}

  // extract_layer: the chain of first users from `start`; second: stopped by a block (the output,
  // or a last value with several users).
  std::pair<std::vector<int>, bool> layer(int start) const {
    std::vector<int> chain;
    int cur = start;
    bool next_block = false;
    while (true) {
      chain.push_back(cur);
      bool stop = user_count(cur) == 0;
      for (int u : users_[cur]) {
        if (graph::has_weight(g_.node(u).op) || g_.node(u).op == Op::kAdd) stop = true;
      }
      if (graph::is_output(g_, cur)) next_block = stop = true;
      if (stop) break;
      cur = users_[cur].front();
    }
    if (user_count(cur) > 1) next_block = true;
    return {chain, next_block};
  }

  // extract_block: breadth-first from `inputs` over nodes whose inputs are all complete.
  std::vector<int> block(const std::vector<int>& inputs, int depth) const {
    if (depth > 2) return {};  // stack at most three layers without a residual
    std::vector<int> list;
    bool is_block = false;
    std::map<int, int> pending_inputs;
    std::deque<int> complete;
    std::vector<int> incomplete;
    auto visit_users = [&](int n) {
      for (int u : users_[n]) {
        if (!pending_inputs.count(u)) {
          pending_inputs[u] = static_cast<int>(g_.node(u).inputs.size());
          if (pending_inputs[u] > 1) is_block = true;
          incomplete.push_back(u);
        }
        if (--pending_inputs[u] == 0) {
          complete.push_back(u);
          incomplete.erase(std::find(incomplete.begin(), incomplete.end(), u));
        }
      }
    };
    for (int in : inputs) visit_users(in);
    int cur = -1;
    while (!complete.empty()) {
      cur = complete.front();
      complete.pop_front();
      if (incomplete.empty() && complete.empty()) break;
      list.push_back(cur);
      visit_users(cur);
    }
    if (cur < 0) return list;
    auto [chain, next_block] = layer(cur);
    list.insert(list.end(), chain.begin(), chain.end());
    if (is_block || next_block) return list;
    const auto more = block({chain.back()}, depth + 1);
    list.insert(list.end(), more.begin(), more.end());
    return list;
  }

  // fx counts the graph output as a user of the node it returns.
  size_t user_count(int n) const { return users_[n].size() + (graph::is_output(g_, n) ? 1 : 0); }

 private:
  const graph::Graph& g_;
  std::vector<std::vector<int>> users_;
};

// find_cur_node: keep the list up to its first sink that is a module, dropping the single-use
// branches that lead only to the other sinks.
std::vector<int> find_cur_node(const graph::Graph& g, const std::vector<int>& list) {
  const std::set<int> in_list(list.begin(), list.end());
  auto reads = [&](int reader, int n) {
    const auto& ins = g.node(reader).inputs;
    return std::find(ins.begin(), ins.end(), n) != ins.end();
  };
  std::set<int> used_later;
  for (size_t i = 0; i < list.size(); ++i) {
    for (size_t j = i + 1; j < list.size(); ++j) {
      if (reads(list[j], list[i])) {
        used_later.insert(list[i]);
        break;
      }
    }
  }
  auto used_times = [&](int n) {
    int k = 0;
    for (int m : list) k += reads(m, n) ? 1 : 0;
    return k;
  };
  std::map<int, std::set<int>> single_branch;
  for (int sink : list) {
    if (used_later.count(sink)) continue;
    auto& branch = single_branch[sink];
    branch.insert(sink);
    std::vector<int> frontier = {sink};
    while (!frontier.empty()) {
      std::vector<int> next;
      for (int f : frontier) {
        for (int a : g.node(f).inputs) {
          if (used_times(a) == 1) next.push_back(a);
        }
      }
      branch.insert(next.begin(), next.end());
      frontier = std::move(next);
    }
  }
  int end = list.back();
  for (int n : list) {  // as the Python loop: ends on the last node when nothing breaks it
    end = n;
    if (is_function(g.node(n).op)) continue;
    if (!used_later.count(n)) break;
  }
  std::set<int> unwanted;
  for (const auto& [sink, branch] : single_branch) {
    if (sink != end) unwanted.insert(branch.begin(), branch.end());
  }
  std::vector<int> out;
  for (int n : list) {
    if (unwanted.count(n)) continue;
    out.push_back(n);
    if (n == end) return out;
  }
  throw QuantError(fmt::format("reconstruction unit ending at '{}' lost its end node while pruning", g.node(end).name));
}

}  // namespace

const char* pattern_name(Pattern p) { return p == Pattern::kLayer ? "layer" : "block"; }

Pattern pattern_from_name(const std::string& name) {
  if (name == "layer") return Pattern::kLayer;
  if (name == "block") return Pattern::kBlock;
  throw QuantError(fmt::format("unknown reconstruction pattern '{}'; expected layer or block", name));
}

const Unit* unit_holding(const std::vector<Unit>& units, const graph::Graph& g, const std::string& node_name) {
  for (const auto& u : units) {
    for (int id : u.body) {
      if (g.node(id).name == node_name) return &u;
    }
  }
  return nullptr;
}

std::vector<Unit> partition(const graph::Graph& g, Pattern pattern) {
  const Walker walk(g);
  std::vector<bool> checked(g.nodes.size(), false);
  std::vector<Unit> units;
  for (const auto& start : g.nodes) {
    if (checked[start.id] || !graph::has_weight(start.op)) continue;
    std::vector<int> list;
    if (pattern == Pattern::kLayer) {
      list = walk.layer(start.id).first;
    } else {
      std::vector<int> ins = start.inputs;
      ins.erase(std::unique(ins.begin(), ins.end()), ins.end());
      list = walk.block(ins, 0);
    }
    // The values the unit reads from outside join the list (they become its cached inputs).
    std::vector<int> missing;
    for (int n : list) {
      for (int a : g.node(n).inputs) {
        if (std::find(list.begin(), list.end(), a) == list.end() &&
            std::find(missing.begin(), missing.end(), a) == missing.end()) {
          missing.push_back(a);
        }
      }
    }
    list.insert(list.end(), missing.begin(), missing.end());
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    list = find_cur_node(g, list);
    Unit u;
    const std::set<int> members(list.begin(), list.end());
    for (int n : list) {
      const auto& node = g.node(n);
      const bool external = node.op == Op::kInput || std::any_of(node.inputs.begin(), node.inputs.end(),
                                                                   [&](int a) { return !members.count(a); });
      (external ? u.inputs : u.body).push_back(n);
      checked[n] = true;
    }
    if (u.body.empty()) throw QuantError(fmt::format("reconstruction unit from '{}' computes nothing", start.name));
    for (int n : u.body) {
      if (graph::has_weight(g.node(n).op)) u.layers.push_back(n);
      if (g.node(n).op == Op::kFakeQuant) u.quantizers.push_back(n);
    }
    units.push_back(std::move(u));
  }
  return units;
}

std::vector<std::string> unit_node_names(const graph::Graph& g, const Unit& u) {
  std::vector<std::string> names;
  for (int n : u.body) names.push_back(g.node(n).name);
  return names;
}

void dump(const graph::Graph& g, const std::vector<Unit>& units, std::ostream& os) {
  for (size_t i = 0; i < units.size(); ++i) {
    std::string inputs;
    for (int n : units[i].inputs) inputs += (inputs.empty() ? "" : ",") + g.node(n).name;
    std::string body;
    for (const auto& name : unit_node_names(g, units[i])) body += (body.empty() ? "" : " ") + name;
    os << fmt::format("{:3d}  {} layer(s)  in: {}\n     {}\n", i, units[i].layers.size(), inputs, body);
  }
}

}  // namespace qsweep::quant::reconstruct
