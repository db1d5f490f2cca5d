#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "graph/executor.h"
#include "graph/passes.h"

namespace qsweep::graph {
namespace {

void randomise_bn(Graph& g) {
  for (const auto& n : g.nodes) {
    if (n.op != Op::kBatchNorm2d) continue;
    const auto c = g.param(n, "weight").size(0);
    g.params.set(n.name + ".weight", at::rand({c}) + 0.5);
    g.params.set(n.name + ".bias", at::randn({c}) * 0.1);
    g.params.set(n.name + ".running_mean", at::randn({c}) * 0.1);
    g.params.set(n.name + ".running_var", at::rand({c}) + 0.5);
  }
}

TEST(FoldBatchNorm, FoldsConvBnPairsAndKeepsLogits) {
  at::manual_seed(1);
  Builder b("t");
  int x = b.input();
  int c = b.relu("r", b.batch_norm("bn", b.conv2d("conv", x, 3, 8, 3, 1, 1, 1, true), 8));
  b.output(b.linear("fc", b.flatten("f", b.adaptive_avg_pool2d("p", c)), 8, 4));
  Graph g = b.finish();
  randomise_bn(g);
  const auto in = at::randn({2, 3, 6, 6});
  const auto before = run(g, in);
  PassContext ctx;
  EXPECT_EQ(run_pass("fold-bn", g, ctx), Preserved::kNone);
  g.validate();
  EXPECT_EQ(g.find("bn"), -1);
  EXPECT_FALSE(g.params.contains("bn.running_mean"));
  const auto after = run(g, in);
  EXPECT_LE(((after - before).abs().max() / before.abs().max()).item<float>(), 1e-5);
  EXPECT_EQ(run_pass("fold-bn", g, ctx), Preserved::kAll);
}

TEST(FoldBatchNorm, LeavesBnAfterSharedConvAlone) {
  Builder b("t");
  int x = b.input();
  int c = b.conv2d("conv", x, 3, 4, 1);
  int y = b.add("add", b.batch_norm("bn", c, 4), c);  // conv output read twice: folding would change `add`
  b.output(y);
  Graph g = b.finish();
  PassContext ctx;
  EXPECT_EQ(run_pass("fold-bn", g, ctx), Preserved::kAll);
}

TEST(Passes, UnknownNameListsKnownOnes) {
  Graph g;
  PassContext ctx;
  try {
    run_pass("fold-batchnorm", g, ctx);
    FAIL();
  } catch (const GraphError& e) {
    EXPECT_NE(std::string(e.what()).find("known: fold-bn"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qsweep::graph
