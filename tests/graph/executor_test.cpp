// The executor against direct ATen calls on tiny hand-built graphs, sub-graph runs and hooks.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "graph/executor.h"
#include "graph/graph.h"

namespace qsweep::graph {
namespace {

Graph tiny_residual() {
  Builder b("tiny");
  int x = b.input("x");
  int c = b.conv2d("conv1", x, 2, 4, 3, 1, 1);
  int r = b.relu("relu1", b.batch_norm("bn1", c, 4));
  int c2 = b.batch_norm("bn2", b.conv2d("conv2", r, 4, 4, 3, 1, 1), 4);
  int a = b.relu6("relu2", b.add("add", c2, r));
  int p = b.max_pool2d("pool", a, 2, 2, 0);
  int f = b.flatten("flat", b.adaptive_avg_pool2d("avg", p));
  b.output(b.linear("fc", b.dropout("drop", f, 0.5), 4, 3));
  return b.finish();
}

TEST(Executor, MatchesDirectAtenCalls) {
  at::manual_seed(0);
  Graph g = tiny_residual();
  g.params.set("bn1.running_mean", at::randn({4}));
  g.params.set("bn1.running_var", at::rand({4}) + 0.5);
  const auto x = at::randn({2, 2, 8, 8});
  const auto& P = g.params;
  auto r = at::relu(at::batch_norm(at::conv2d(x, P.at("conv1.weight"), {}, 1, 1), P.at("bn1.weight"), P.at("bn1.bias"),
                                   P.at("bn1.running_mean"), P.at("bn1.running_var"), false, 0.1, 1e-5, true));
  auto c2 = at::batch_norm(at::conv2d(r, P.at("conv2.weight"), {}, 1, 1), P.at("bn2.weight"), P.at("bn2.bias"),
                           P.at("bn2.running_mean"), P.at("bn2.running_var"), false, 0.1, 1e-5, true);
  auto a = at::hardtanh(c2 + r, 0, 6);
  auto f = at::adaptive_avg_pool2d(at::max_pool2d(a, {2, 2}, {2, 2}), {1, 1}).reshape({2, -1});
  auto expected = at::linear(f, P.at("fc.weight"), P.at("fc.bias"));
  EXPECT_TRUE(at::equal(run(g, x), expected));
}

TEST(Executor, HooksSeeEveryNodeAndReplaceWeightsAndQuantizers) {
  Graph g = tiny_residual();
  const auto x = at::randn({1, 2, 8, 8});
  std::vector<std::string> seen;
  ExecOptions o;
  o.on_output = [&](const Node& n, const at::Tensor&) { seen.push_back(n.name); };
  run(g, x, o);
  EXPECT_EQ(seen.size(), g.nodes.size() - 1);  // all but the input
  ExecOptions zero;
  zero.weight = [](const Node& n, const at::Tensor& w) { return n.name == "fc" ? at::zeros_like(w) : w; };
  EXPECT_TRUE(at::equal(run(g, x, zero), g.params.at("fc.bias").unsqueeze(0)));
}

TEST(Executor, SubGraphRunsFromCachedInputs) {
  Graph g = tiny_residual();
  const auto x = at::randn({1, 2, 8, 8});
  at::Tensor relu1;
  ExecOptions o;
  o.on_output = [&](const Node& n, const at::Tensor& t) {
    if (n.name == "relu1") relu1 = t;
  };
  const auto full = run(g, x, o);
  std::vector<int> rest;
  for (int id = g.find("conv2"); id < static_cast<int>(g.nodes.size()); ++id) rest.push_back(id);
  const auto out = run_nodes(g, rest, {{g.find("relu1"), relu1}}, {g.outputs[0]});
  EXPECT_TRUE(at::equal(out[0], full));
  EXPECT_THROW(run_nodes(g, rest, {}, {g.outputs[0]}), GraphError);
}

TEST(Executor, GradientsFlowToParametersWhenAsked) {
  Graph g = tiny_residual();
  auto w = g.params.at("conv1.weight").clone().set_requires_grad(true);
  ExecOptions o;
  o.weight = [&](const Node& n, const at::Tensor& stored) { return n.name == "conv1" ? w : stored; };
  run(g, at::randn({2, 2, 8, 8}), o).sum().backward();
  ASSERT_TRUE(w.grad().defined());
  EXPECT_GT(w.grad().abs().sum().item<float>(), 0.0f);
}

TEST(Graph, EditsKeepIdsDense) {
  Graph g = tiny_residual();
  const int drop = g.find("drop");
  g.replace_uses(drop, g.node(drop).inputs[0]);
  g.erase({drop});
  g.validate();
  EXPECT_EQ(g.find("drop"), -1);
  Node q;
  q.op = Op::kFakeQuant;
  q.name = "relu1_post_act_fake_quantizer";
  q.inputs = {g.find("relu1")};
  const int id = g.insert_after(g.find("relu1"), q);
  g.replace_uses(g.find("relu1"), id);
  g.validate();
  EXPECT_EQ(g.node(g.find("conv2")).inputs[0], id);
  EXPECT_EQ(g.node(g.find("add")).inputs[1], id);
}

TEST(Graph, ValidateRejectsBrokenGraphs) {
  Graph g = tiny_residual();
  g.nodes[3].inputs = {7};
  EXPECT_THROW(g.validate(), GraphError);
  Graph h = tiny_residual();
  h.params.remove("conv1.weight");
  EXPECT_THROW(h.validate(), GraphError);
}

TEST(Graph, CloneSharesNoStorage) {
  Graph g = tiny_residual();
  Graph c = g.clone();
  c.params.at("conv1.weight").zero_();
  EXPECT_GT(g.params.at("conv1.weight").abs().sum().item<float>(), 0.0f);
}

}  // namespace
}  // namespace qsweep::graph
