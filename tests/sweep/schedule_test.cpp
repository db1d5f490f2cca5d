// Task groups: group sizes, the strict Dispatcher and the simulation that drives it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <utility>

#include "sweep/schedule.h"

namespace qsweep::sweep {
namespace {

TEST(Schedule, LongestFirstIsStableByDecreasingCost) {
  EXPECT_EQ(longest_first({3, 7, 2, 5, 3, 4}), (std::vector<size_t>{1, 3, 5, 0, 4, 2}));
}

// Groups off is classic longest-first list scheduling. By hand, 3 ranks, costs 7 5 4 3 3 2:
// t=0 rank0:7 rank1:5 rank2:4; t=4 rank2 takes 3 (→7); t=5 rank1 takes 3 (→8); t=7 ranks 0 and 2
// free, the lowest (0) takes 2 (→9). Makespan 9, ideal 24 / 3 = 8.
TEST(Schedule, GroupsOffIsLongestFirstListScheduling) {
  const std::vector<double> costs = {3, 7, 2, 5, 3, 4};
  const auto s = simulate(costs, longest_first(costs), std::vector<int>(costs.size(), 1), block_nodes(3, 8));
  EXPECT_DOUBLE_EQ(s.makespan, 9);
  EXPECT_DOUBLE_EQ(s.ideal, 8);
  std::map<size_t, std::pair<double, int>> started;  // task → (start, rank)
  for (const auto& t : s.tasks) started[t.task] = {t.start, t.ranks.at(0)};
  EXPECT_EQ(started[1], std::make_pair(0.0, 0));
  EXPECT_EQ(started[3], std::make_pair(0.0, 1));
  EXPECT_EQ(started[5], std::make_pair(0.0, 2));
  EXPECT_EQ(started[0], std::make_pair(4.0, 2));
  EXPECT_EQ(started[4], std::make_pair(5.0, 1));
  EXPECT_EQ(started[2], std::make_pair(7.0, 0));
}

TEST(Schedule, AutoGroupSizeIsCostOverEvenShareClamped) {
  EXPECT_EQ(auto_group_size(30, 80, 8, 16), 3);   // share 10
  EXPECT_EQ(auto_group_size(10, 80, 8, 16), 1);   // exactly one share: one rank
  EXPECT_EQ(auto_group_size(0.5, 80, 8, 16), 1);
  EXPECT_EQ(auto_group_size(200, 80, 8, 4), 4);   // max_group
  EXPECT_EQ(auto_group_size(200, 80, 8, 64), 8);  // never more than the ranks
}

TEST(Schedule, HugeTaskGetsAGroupAndTheMakespanNearsIdeal) {
  std::vector<double> costs(41, 1.0);
  costs[7] = 40;  // alone it is 4 × the even share (80 / 8)
  const auto order = longest_first(costs);
  const auto nodes = block_nodes(8, 8);
  const auto off = simulate(costs, order, std::vector<int>(costs.size(), 1), nodes);
  EXPECT_DOUBLE_EQ(off.makespan, 40);

  const auto groups = choose_group_sizes(costs, std::vector<int>(costs.size(), 0), 8, 8, nodes);
  EXPECT_GE(groups[7], 4);
  for (size_t i = 0; i < costs.size(); ++i) {
    if (i != 7) {
      EXPECT_EQ(groups[i], 1) << "task " << i << ": splitting a small task does not pay";
    }
  }
  const auto on = simulate(costs, order, groups, nodes);
  EXPECT_LE(on.makespan, 1.10 * on.ideal);
}

TEST(Schedule, RequestedGroupsAreKeptAndClamped) {
  EXPECT_EQ(choose_group_sizes({1, 1, 1}, {3, 100, 1}, 8, 2), (std::vector<int>{3, 8, 1}));
  // A fixed 1 stays 1 although it is then the longest task; the auto task beside it still needs a
  // group to finish within it (100 / 2 > 40).
  const auto g = choose_group_sizes({40, 100, 1}, {1, 0, 0}, 8, 8);
  EXPECT_EQ(g[0], 1);
  EXPECT_GE(g[1], 3);
  EXPECT_THROW(choose_group_sizes({1}, {-1}, 8, 8), std::invalid_argument);
  EXPECT_THROW(choose_group_sizes({1, 2}, {0}, 8, 8), std::invalid_argument);
}

TEST(Dispatcher, HeadWaitsEvenWhenATaskBehindItCouldRun) {
  Dispatcher d({0, 1}, {3, 1}, block_nodes(4, 8));
  EXPECT_FALSE(d.take());  // nothing idle yet
  d.release(0);
  d.release(1);
  EXPECT_FALSE(d.take()) << "task 1 needs one rank and two are idle, but task 0 is first";
  d.release(2);
  const auto a = d.take();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->task, 0u);
  EXPECT_EQ(a->ranks, (std::vector<int>{0, 1, 2}));
  EXPECT_FALSE(d.take());
  d.release(3);
  const auto b = d.take();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->task, 1u);
  EXPECT_EQ(b->ranks, (std::vector<int>{3}));
  EXPECT_TRUE(d.empty());
  EXPECT_FALSE(d.take());
}

TEST(Dispatcher, PrefersTheNodeWithTheMostIdleRanks) {
  Dispatcher d({0, 1, 2}, {2, 3, 6}, block_nodes(8, 4));  // nodes {0..3} {4..7}
  for (int r : {0, 1, 4, 5, 6}) d.release(r);
  auto a = d.take();  // node 1 has 3 idle, node 0 two
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ranks, (std::vector<int>{4, 5}));
  EXPECT_EQ(d.idle(), (std::vector<int>{0, 1, 6}));
  d.release(7);
  EXPECT_FALSE(d.take()) << "three ranks are idle, but no node holds three of them: the group waits";
  d.release(2);
  a = d.take();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ranks, (std::vector<int>{0, 1, 2}));
  for (int r : {4, 5, 0, 1, 2}) d.release(r);
  a = d.take();  // 6 ranks fit no node of 4: the lowest idle ranks, across nodes
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ranks, (std::vector<int>{0, 1, 2, 4, 5, 6}));
}

TEST(Dispatcher, DropAllAndBadReleases) {
  Dispatcher d({0, 1}, {1, 1}, block_nodes(2, 2));
  d.release(0);
  EXPECT_THROW(d.release(0), std::invalid_argument);
  EXPECT_THROW(d.release(2), std::invalid_argument);
  d.drop_all();
  EXPECT_TRUE(d.empty());
  EXPECT_FALSE(d.take());
  EXPECT_EQ(d.idle(), (std::vector<int>{0}));
}

TEST(Schedule, SimulateNeverRunsARankOnTwoTasksAtOnce) {
  std::mt19937 gen(1005);  // raw outputs only: the same costs on every standard library
  std::vector<double> costs;
  std::vector<int> requested;
  for (int i = 0; i < 60; ++i) {
    costs.push_back(0.1 + static_cast<double>(gen() % 1000) / (i < 4 ? 10.0 : 100.0));
    requested.push_back(i % 7 == 3 ? static_cast<int>(gen() % 12) + 1 : 0);  // some fixed, some over a node
  }
  const int ranks = 16;
  const auto nodes = block_nodes(ranks, 8);
  const auto groups = choose_group_sizes(costs, requested, ranks, ranks, nodes);
  const auto s = simulate(costs, longest_first(costs), groups, nodes);

  ASSERT_EQ(s.tasks.size(), costs.size());
  std::vector<int> runs(costs.size(), 0);
  std::vector<std::vector<std::pair<double, double>>> busy(ranks);
  double last = 0;
  for (const auto& t : s.tasks) {
    ++runs[t.task];
    EXPECT_EQ(t.group, groups[t.task]);
    EXPECT_EQ(static_cast<int>(t.ranks.size()), t.group);
    EXPECT_NEAR(t.finish - t.start, costs[t.task] / t.group, 1e-9 * std::max(1.0, t.finish));  // finish − start loses bits
    for (int r : t.ranks) busy[static_cast<size_t>(r)].push_back({t.start, t.finish});
    last = std::max(last, t.finish);
  }
  EXPECT_EQ(std::count(runs.begin(), runs.end(), 1), static_cast<long>(costs.size()));
  EXPECT_DOUBLE_EQ(s.makespan, last);
  for (int r = 0; r < ranks; ++r) {
    auto& iv = busy[static_cast<size_t>(r)];
    std::sort(iv.begin(), iv.end());
    for (size_t k = 1; k < iv.size(); ++k) {
      EXPECT_LE(iv[k - 1].second, iv[k].first) << "rank " << r << " runs two tasks at once";
    }
  }
}

}  // namespace
}  // namespace qsweep::sweep
