// Reverse debugging's choice of checkpoints (vm/checkpoint_plan.hpp): which
// one to re-execute from, when one is due, which one to give up.
#include <gtest/gtest.h>

#include <vector>

#include "vm/checkpoint_plan.hpp"

namespace vessel::checkpoint_plan {
namespace {

TEST(CheckpointPlan, RestoreFromTheLatestStrictlyBefore) {
  const std::vector<uint64_t> p = {0, 100, 200, 300};
  EXPECT_EQ(restore_index(p, 0), 0u);  // the start itself
  EXPECT_EQ(restore_index(p, 1), 0u);
  EXPECT_EQ(restore_index(p, 100), 0u);  // strictly before: run up to it
  EXPECT_EQ(restore_index(p, 101), 1u);
  EXPECT_EQ(restore_index(p, 300), 2u);
  EXPECT_EQ(restore_index(p, 301), 3u);
  EXPECT_EQ(restore_index(p, UINT64_MAX), 3u);
}

TEST(CheckpointPlan, RestoreNeedsTheStart) {
  EXPECT_FALSE(restore_index(std::vector<uint64_t>{}, 5).has_value());
  EXPECT_FALSE(restore_index(std::vector<uint64_t>{10, 20}, 15).has_value());
}

TEST(CheckpointPlan, DueOnlyPastTheFrontier) {
  EXPECT_TRUE(due(std::vector<uint64_t>{}, 0, 100));
  const std::vector<uint64_t> p = {0, 100};
  EXPECT_FALSE(due(p, 150, 100));
  EXPECT_TRUE(due(p, 200, 100));
  EXPECT_TRUE(due(p, 250, 100));
  EXPECT_FALSE(due(p, 50, 100));  // behind the newest (after going back)
}

TEST(CheckpointPlan, DropKeepsTheStartAndTheNewest) {
  EXPECT_FALSE(drop_index(std::vector<uint64_t>{0, 100}, 100).has_value());
  EXPECT_EQ(drop_index(std::vector<uint64_t>{0, 100, 200}, 200), 1u);
}

// Thinning a long uniform run again and again keeps checkpoints dense near
// the current position and sparse far back.
TEST(CheckpointPlan, CheckpointsThinOutWithAge) {
  std::vector<uint64_t> p;
  for (uint64_t i = 0; i <= 200; ++i) p.push_back(i * 10);
  const uint64_t now = p.back();
  while (p.size() > 20) {
    const auto k = drop_index(p, now);
    ASSERT_TRUE(k.has_value());
    ASSERT_GE(*k, 1u);
    ASSERT_LT(*k, p.size() - 1);
    p.erase(p.begin() + static_cast<long>(*k));
  }
  EXPECT_EQ(p.front(), 0u);
  EXPECT_EQ(p.back(), now);
  // The newest gaps are the smallest; the gaps grow going back.
  const uint64_t newest_gap = p[p.size() - 1] - p[p.size() - 2];
  const uint64_t oldest_gap = p[1] - p[0];
  EXPECT_LE(newest_gap, 20u);
  EXPECT_GT(oldest_gap, 10 * newest_gap);
  for (size_t i = 2; i < p.size(); ++i) EXPECT_GE(p[i - 1] - p[i - 2] + 10, p[i] - p[i - 1]);
}

}  // namespace
}  // namespace vessel::checkpoint_plan
