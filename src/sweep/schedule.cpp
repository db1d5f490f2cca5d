// Group sizes, the strict dispatch policy and its event simulation (see schedule.h).
#include "sweep/schedule.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <queue>
#include <stdexcept>
#include <string>
#include <utility>

namespace qsweep::sweep {
namespace {

// The auto search climbs from uniform shares (total / ranks, then smaller by kStartShrink) by
// moving groups one rank at a time; a few starts, because a climb stops at its first local optimum.
constexpr int kStarts = 4;
constexpr double kStartShrink = 0.75;
constexpr int kMaxPasses = 20;
// A makespan within this fraction of the lower bound is good enough: past it, splitting less wins,
// because real groups scale worse than the c / G assumed here and perfect scaling would otherwise
// put every task on every rank.
constexpr double kSlack = 0.05;

int group_for_share(double cost, double share, int max_group) {
  if (!(share > 0)) return max_group;
  const double g = std::ceil(cost / share - 1e-9);  // a cost of exactly k shares needs k ranks, not k + 1
  return static_cast<int>(std::clamp(g, 1.0, static_cast<double>(max_group)));
}

// `base` with every auto task (requested 0) given group_for_share(cost, share).
std::vector<int> with_share(const std::vector<int>& base, const std::vector<double>& costs,
                            const std::vector<int>& requested, double share, int max_group) {
  std::vector<int> g = base;
  for (size_t i = 0; i < g.size(); ++i) {
    if (requested[i] == 0) g[i] = group_for_share(costs[i], share, max_group);
  }
  return g;
}

// One grouping judged: a makespan under `target` counts as `target`, then fewer ranks in groups win.
struct Trial {
  std::vector<int> groups;
  double span = 0;
  long ranks_used = 0;  // Σ G: how much splitting the grouping asks for
};

class GroupSearch {
 public:
  GroupSearch(const std::vector<double>& costs, const std::vector<int>& requested, std::vector<int> nodes, int cap)
      : costs_(costs), requested_(requested), order_(longest_first(costs)), nodes_(std::move(nodes)), cap_(cap) {}

  Trial judge(std::vector<int> g) const {
    Trial t;
    t.span = simulate(costs_, order_, g, nodes_).makespan;
    t.ranks_used = std::accumulate(g.begin(), g.end(), 0L);
    t.groups = std::move(g);
    return t;
  }
  bool better(const Trial& a, const Trial& b) const {
    const double sa = std::max(a.span, target_), sb = std::max(b.span, target_);
    if (sa < sb * (1 - 1e-12)) return true;
    return sa <= sb * (1 + 1e-12) && a.ranks_used < b.ranks_used;
  }
  void set_target(double lower_bound) { target_ = (1 + kSlack) * lower_bound; }

  // Hill climbing: one auto task's group one rank up or down, or every auto task that finishes last
  // one rank up (equal tasks finish together, so no single move shortens the makespan), kept when
  // the trial is better.
  Trial fine(Trial best) const {
    for (int pass = 0; pass < kMaxPasses; ++pass) {
      bool moved = try_move(best, critical_up(best.groups));
      for (size_t i = 0; i < costs_.size(); ++i) {
        if (requested_[i] != 0) continue;
        for (int d : {-1, +1}) {
          std::vector<int> g = best.groups;
          g[i] += d;
          if (g[i] >= 1 && g[i] <= cap_) moved = try_move(best, std::move(g)) || moved;
        }
      }
      if (!moved) break;
    }
    return best;
  }

 private:
  bool try_move(Trial& best, std::vector<int> g) const {
    if (g == best.groups) return false;
    Trial t = judge(std::move(g));
    if (!better(t, best)) return false;
    best = std::move(t);
    return true;
  }

  std::vector<int> critical_up(std::vector<int> g) const {
    const Schedule s = simulate(costs_, order_, g, nodes_);
    for (const auto& t : s.tasks) {
      if (t.finish == s.makespan && requested_[t.task] == 0) g[t.task] = std::min(g[t.task] + 1, cap_);
    }
    return g;
  }

  const std::vector<double>& costs_;
  const std::vector<int>& requested_;
  std::vector<size_t> order_;
  std::vector<int> nodes_;
  int cap_;
  double target_ = 0;
};

// The requested groups (clamped to the ranks), auto tasks at 1; checks the arguments.
std::vector<int> fixed_groups(const std::vector<double>& costs, const std::vector<int>& requested, int ranks,
                              const std::vector<int>& node_of_rank) {
  if (requested.size() != costs.size()) throw std::invalid_argument("choose_group_sizes: requested.size() != costs.size()");
  if (ranks < 1) throw std::invalid_argument("choose_group_sizes: ranks < 1");
  if (!node_of_rank.empty() && node_of_rank.size() != static_cast<size_t>(ranks)) {
    throw std::invalid_argument("choose_group_sizes: node_of_rank.size() != ranks");
  }
  std::vector<int> g(costs.size(), 1);
  for (size_t i = 0; i < costs.size(); ++i) {
    if (requested[i] < 0) throw std::invalid_argument("choose_group_sizes: requested[" + std::to_string(i) + "] < 0");
    if (requested[i] > 0) g[i] = std::min(requested[i], ranks);
  }
  return g;
}

// No schedule beats the even share, nor any task on the largest group it may have.
double lower_bound(const std::vector<double>& costs, const std::vector<int>& requested, const std::vector<int>& base,
                   int ranks, int cap) {
  double total = 0, longest = 0;
  for (size_t i = 0; i < costs.size(); ++i) {
    total += costs[i];
    longest = std::max(longest, costs[i] / (requested[i] == 0 ? cap : base[i]));
  }
  return std::max(longest, total / ranks);
}

}  // namespace

std::vector<size_t> longest_first(const std::vector<double>& costs) {
  std::vector<size_t> order(costs.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return costs[a] > costs[b]; });
  return order;
}

int auto_group_size(double cost, double total_cost, int ranks, int max_group) {
  const int cap = std::max(1, std::min(max_group, ranks));
  return group_for_share(cost, total_cost / std::max(1, ranks), cap);
}

std::vector<int> choose_group_sizes(const std::vector<double>& costs, const std::vector<int>& requested, int ranks,
                                    int max_group, const std::vector<int>& node_of_rank) {
  const std::vector<int> base = fixed_groups(costs, requested, ranks, node_of_rank);
  const int cap = std::max(1, std::min(max_group, ranks));
  if (cap == 1 || std::find(requested.begin(), requested.end(), 0) == requested.end()) return base;

  GroupSearch search(costs, requested,
                     node_of_rank.empty() ? std::vector<int>(static_cast<size_t>(ranks), 0) : node_of_rank, cap);
  search.set_target(lower_bound(costs, requested, base, ranks, cap));
  Trial best = search.judge(base);  // groups off competes too: splitting must pay
  double share = std::accumulate(costs.begin(), costs.end(), 0.0) / ranks;
  for (int k = 0; k < kStarts; ++k, share *= kStartShrink) {
    Trial t = search.fine(search.judge(with_share(base, costs, requested, share, cap)));
    if (search.better(t, best)) best = std::move(t);
  }
  return best.groups;
}

std::vector<int> block_nodes(int ranks, int ranks_per_node) {
  if (ranks_per_node < 1) throw std::invalid_argument("block_nodes: ranks_per_node < 1");
  std::vector<int> nodes(static_cast<size_t>(std::max(0, ranks)));
  for (int r = 0; r < ranks; ++r) nodes[static_cast<size_t>(r)] = r / ranks_per_node;
  return nodes;
}

Dispatcher::Dispatcher(std::vector<size_t> order, const std::vector<int>& groups, std::vector<int> node_of_rank)
    : order_(std::move(order)), node_of_rank_(std::move(node_of_rank)), is_idle_(node_of_rank_.size(), false) {
  if (node_of_rank_.empty()) throw std::invalid_argument("Dispatcher: no ranks");
  const int ranks = static_cast<int>(node_of_rank_.size());
  for (size_t task : order_) {
    if (task >= groups.size()) throw std::invalid_argument("Dispatcher: task " + std::to_string(task) + " has no group size");
    group_.push_back(std::clamp(groups[task], 1, ranks));  // a larger group could never start
  }
  for (int r = 0; r < ranks; ++r) {
    const int node = node_of_rank_[static_cast<size_t>(r)];
    if (node < 0) throw std::invalid_argument("Dispatcher: rank " + std::to_string(r) + " has a negative node id");
    if (static_cast<size_t>(node) >= ranks_on_.size()) ranks_on_.resize(static_cast<size_t>(node) + 1);
    ranks_on_[static_cast<size_t>(node)].push_back(r);
  }
  idle_on_.assign(ranks_on_.size(), 0);
  for (const auto& on_node : ranks_on_) largest_node_ = std::max(largest_node_, static_cast<int>(on_node.size()));
}

std::vector<int> Dispatcher::idle() const {
  std::vector<int> out;
  for (size_t r = 0; r < is_idle_.size(); ++r) {
    if (is_idle_[r]) out.push_back(static_cast<int>(r));
  }
  return out;
}

void Dispatcher::release(int rank) {
  if (rank < 0 || rank >= static_cast<int>(node_of_rank_.size())) {
    throw std::invalid_argument("Dispatcher::release: no rank " + std::to_string(rank));
  }
  if (is_idle_[static_cast<size_t>(rank)]) {
    throw std::invalid_argument("Dispatcher::release: rank " + std::to_string(rank) + " is already idle");
  }
  set_idle(rank, true);
}

void Dispatcher::set_idle(int rank, bool idle) {
  is_idle_[static_cast<size_t>(rank)] = idle;
  idle_on_[static_cast<size_t>(node_of_rank_[static_cast<size_t>(rank)])] += idle ? 1 : -1;
  idle_count_ += idle ? 1 : -1;
}

std::vector<int> Dispatcher::pick(int group) const {
  // One node when one has room now: the fullest, so the emptier nodes keep filling up for the next group.
  int node = -1;
  for (size_t n = 0; n < idle_on_.size(); ++n) {
    if (idle_on_[n] >= group && (node < 0 || idle_on_[n] > idle_on_[static_cast<size_t>(node)])) node = static_cast<int>(n);
  }
  if (node < 0 && group <= largest_node_) return {};  // wait for a node to have room rather than spread
  std::vector<int> out;
  const auto take_idle = [&](int r) {
    if (is_idle_[static_cast<size_t>(r)] && static_cast<int>(out.size()) < group) out.push_back(r);
  };
  if (node >= 0) {
    for (int r : ranks_on_[static_cast<size_t>(node)]) take_idle(r);
  } else {
    for (int r = 0; r < static_cast<int>(is_idle_.size()); ++r) take_idle(r);
  }
  return out;  // ascending
}

std::optional<Assignment> Dispatcher::take() {
  if (empty()) return std::nullopt;
  const int group = group_[next_];
  if (idle_count_ < group) return std::nullopt;
  std::vector<int> ranks = pick(group);
  if (ranks.empty()) return std::nullopt;
  for (int r : ranks) set_idle(r, false);
  return Assignment{order_[next_++], std::move(ranks)};
}

Schedule simulate(const std::vector<double>& costs, const std::vector<size_t>& order, const std::vector<int>& groups,
                  const std::vector<int>& node_of_rank) {
  Dispatcher dispatcher(order, groups, node_of_rank);
  Schedule s;
  for (size_t t : order) s.ideal += costs.at(t);
  s.ideal /= static_cast<double>(node_of_rank.size());
  for (int r = 0; r < static_cast<int>(node_of_rank.size()); ++r) dispatcher.release(r);

  using Event = std::pair<double, size_t>;  // (finish, index into s.tasks), earliest first
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> running;
  double now = 0;
  while (true) {
    while (auto a = dispatcher.take()) {
      const int g = static_cast<int>(a->ranks.size());
      s.tasks.push_back({a->task, g, now, now + costs[a->task] / g, std::move(a->ranks)});
      running.push({s.tasks.back().finish, s.tasks.size() - 1});
    }
    if (running.empty()) break;  // the Dispatcher clamps groups to the ranks, so nothing is left waiting
    now = running.top().first;
    while (!running.empty() && running.top().first == now) {
      for (int r : s.tasks[running.top().second].ranks) dispatcher.release(r);
      running.pop();
    }
  }
  s.makespan = now;
  return s;
}

}  // namespace qsweep::sweep
