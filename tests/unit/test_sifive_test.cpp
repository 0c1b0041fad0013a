#include "devices/sifive_test.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace vessel {
namespace {

class SifiveTestTest : public ::testing::Test {
 protected:
  std::vector<FinisherEvent> events;
  SifiveTest dev{[this](FinisherEvent e) { events.push_back(e); }};
};

TEST_F(SifiveTestTest, PassFailReset) {
  EXPECT_TRUE(dev.mmio_write(0, 4, 0x5555));
  EXPECT_TRUE(dev.mmio_write(0, 4, (42u << 16) | 0x3333));
  EXPECT_TRUE(dev.mmio_write(0, 4, 0x7777));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kind, FinisherEvent::Kind::kPass);
  EXPECT_EQ(events[1].kind, FinisherEvent::Kind::kFail);
  EXPECT_EQ(events[1].code, 42);
  EXPECT_EQ(events[2].kind, FinisherEvent::Kind::kReset);
}

TEST_F(SifiveTestTest, FailCodeIsSixteenBits) {
  EXPECT_TRUE(dev.mmio_write(0, 8, 0xdead'beef'ffff'3333ull));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].code, 0xffff);
}

TEST_F(SifiveTestTest, OtherValuesAndOffsetsAreIgnored) {
  EXPECT_TRUE(dev.mmio_write(0, 4, 0x1234));
  EXPECT_TRUE(dev.mmio_write(0, 4, 0));
  EXPECT_TRUE(dev.mmio_write(4, 4, 0x5555));
  EXPECT_TRUE(dev.mmio_write(0xffc, 4, 0x3333));
  EXPECT_TRUE(dev.mmio_write(0, 1, 0x55));  // a byte cannot hold the status
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(dev.mmio_write(8, 4, i));  // rate-limited log
  EXPECT_TRUE(events.empty());
}

TEST_F(SifiveTestTest, ReadsReturnZero) {
  uint64_t v = 7;
  EXPECT_TRUE(dev.mmio_read(0, 4, v));
  EXPECT_EQ(v, 0u);
  v = 7;
  EXPECT_TRUE(dev.mmio_read(0xfff, 1, v));
  EXPECT_EQ(v, 0u);
}

TEST(SifiveTest, NoHandlerIsHarmless) {
  SifiveTest dev(nullptr);
  EXPECT_TRUE(dev.mmio_write(0, 4, 0x5555));
  EXPECT_TRUE(dev.mmio_write(0, 4, 0x3333));
}

}  // namespace
}  // namespace vessel
