#include <gtest/gtest.h>

#include "support/strings.h"

namespace qsweep {
namespace {

TEST(Strings, EditDistance) {
  EXPECT_EQ(edit_distance("emamse", "ema_mse"), 1);
  EXPECT_EQ(edit_distance("MinMax", "minmax"), 0);
  EXPECT_EQ(edit_distance("", "abc"), 3);
}

TEST(Strings, ClosestMatchNeedsToBeClose) {
  EXPECT_EQ(closest_match("resnt18", {"resnet18", "resnet50"}), "resnet18");
  EXPECT_EQ(closest_match("vgg16", {"resnet18", "resnet50"}), "");
}

TEST(Strings, UnknownNameMessage) {
  EXPECT_EQ(unknown_name_message("backend", "tensorrt2", {"academic", "tensorrt"}),
            "unknown backend 'tensorrt2'; did you mean 'tensorrt'? known: academic, tensorrt");
}

}  // namespace
}  // namespace qsweep
