// Task groups: which tasks run on several ranks, and the one dispatch policy that places them.
//
//   std::vector<size_t> order = longest_first(costs);
//   std::vector<int> groups = choose_group_sizes(costs, requested, ranks, max_group);  // 0 = auto
//   Dispatcher d(order, groups, block_nodes(ranks, 8));
//   d.release(r);                               // rank r asks for work (once at start, then per task)
//   if (auto a = d.take()) run(a->task, a->ranks);
//   Schedule s = simulate(costs, order, groups, block_nodes(ranks, 8));   // s.makespan / s.ideal
//
// The runner and simulate() drive the same Dispatcher, so a predicted makespan is the one the
// runner would reach if the costs were exact. The dispatch is strict: the head of the queue waits
// until its G ranks are idle and nothing behind it jumps ahead, so a prediction cannot be undone
// by a small task holding the ranks a large one was waiting for.
//
// Assumption: perfect scaling. A task of cost c on G ranks takes c / G. The real efficiency of a
// group is measured separately; the predictions here are a lower bound on what a group costs.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

namespace qsweep::sweep {

// Task indices by decreasing cost, ties in index order (the runner's queue order).
std::vector<size_t> longest_first(const std::vector<double>& costs);

// The group a task of `cost` needs so that it takes no longer than an even share of the work:
// ceil(cost / (total_cost / ranks)), clamped to [1, max_group] (and to [1, ranks]).
int auto_group_size(double cost, double total_cost, int ranks, int max_group);

// Group size per task. requested[i]: 1 = one rank, N > 1 = exactly N ranks (clamped to ranks),
// 0 = auto. Auto groups start from auto_group_size (and from smaller shares) and are then moved one
// rank at a time while the simulated makespan (longest_first order, node_of_rank; empty = one node)
// shrinks; once it is within 5 % of the lower bound max(Σcost / ranks, max cost / group cap), the
// grouping with fewer ranks in groups wins, since real groups scale worse than assumed here.
// max_group caps auto groups only.
std::vector<int> choose_group_sizes(const std::vector<double>& costs, const std::vector<int>& requested, int ranks,
                                    int max_group, const std::vector<int>& node_of_rank = {});

// Node id per rank: r / ranks_per_node.
std::vector<int> block_nodes(int ranks, int ranks_per_node);

struct Assignment {
  size_t task;             // index into the task list
  std::vector<int> ranks;  // ascending; ranks.front() leads the group
};

// Hands tasks in a fixed order to idle ranks. groups[task] is indexed by task (not by position in
// order); a group larger than the number of ranks is clamped to it. No rank is idle until released.
class Dispatcher {
 public:
  Dispatcher(std::vector<size_t> order, const std::vector<int>& groups, std::vector<int> node_of_rank);

  // Marks `rank` idle. Throws std::invalid_argument if it is out of range or already idle.
  void release(int rank);
  // The head task and its ranks once G ranks are idle: the node with the most idle ranks among those
  // with at least G idle, its lowest G ranks (while none has, the head waits for one); if no node has
  // G ranks at all, the lowest idle ranks.
  // nullopt while the head waits (or the queue is empty). The taken ranks are no longer idle.
  std::optional<Assignment> take();
  bool empty() const { return next_ == order_.size(); }
  std::vector<int> idle() const;  // ascending
  // Forgets every task not yet taken (the runner's answer to a results file it cannot write).
  void drop_all() { next_ = order_.size(); }

 private:
  std::vector<int> pick(int group) const;
  void set_idle(int rank, bool idle);

  std::vector<size_t> order_;
  std::vector<int> group_;  // by position in order_
  std::vector<int> node_of_rank_;
  std::vector<std::vector<int>> ranks_on_;  // ranks per node id, ascending
  std::vector<bool> is_idle_;               // per rank
  std::vector<int> idle_on_;                // idle ranks per node id
  int idle_count_ = 0, largest_node_ = 0;
  size_t next_ = 0;
};

struct ScheduledTask {
  size_t task;
  int group;
  double start, finish;
  std::vector<int> ranks;
};

struct Schedule {
  std::vector<ScheduledTask> tasks;  // in start order
  double makespan = 0;
  double ideal = 0;  // Σcost of the tasks in order ÷ ranks: no schedule can finish sooner
};

// Event simulation of a Dispatcher: every rank idle at t = 0; a task of cost c on G ranks runs c / G
// and releases its ranks when it finishes (ranks finishing at the same time are released together).
Schedule simulate(const std::vector<double>& costs, const std::vector<size_t>& order, const std::vector<int>& groups,
                  const std::vector<int>& node_of_rank);

}  // namespace qsweep::sweep
