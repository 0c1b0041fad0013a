#include "devices/pvpanic.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace vessel {
namespace {

class PvpanicTest : public ::testing::Test {
 protected:
  std::vector<PvpanicEvent> events;
  Pvpanic dev{[this](PvpanicEvent e) { events.push_back(e); }};
};

TEST_F(PvpanicTest, ReadReportsSupportedEvents) {
  // Linux's pvpanic driver ANDs its capabilities with this byte.
  uint64_t v = 0;
  EXPECT_TRUE(dev.mmio_read(0, 1, v));
  EXPECT_EQ(v, 0x3u);
  EXPECT_TRUE(dev.mmio_read(1, 1, v));
  EXPECT_EQ(v, 0u);
}

TEST_F(PvpanicTest, PanicWriteReports) {
  EXPECT_TRUE(dev.mmio_write(0, 1, Pvpanic::kPanicked));
  EXPECT_TRUE(dev.mmio_write(0, 1, Pvpanic::kCrashLoaded));
  EXPECT_TRUE(dev.mmio_write(0, 1, Pvpanic::kPanicked | Pvpanic::kCrashLoaded));
  EXPECT_EQ(events, (std::vector<PvpanicEvent>{PvpanicEvent::kPanicked, PvpanicEvent::kCrashLoaded,
                                               PvpanicEvent::kPanicked}));
}

TEST_F(PvpanicTest, UnknownBitsAndOffsetsAreIgnored) {
  EXPECT_TRUE(dev.mmio_write(0, 1, 0xfc));
  EXPECT_TRUE(dev.mmio_write(0, 1, 0));
  EXPECT_TRUE(dev.mmio_write(1, 1, 1));
  EXPECT_TRUE(dev.mmio_write(0, 4, 0x100));  // only the low byte is the register
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(dev.mmio_write(0, 1, 0x80));
  EXPECT_TRUE(events.empty());
}

TEST(Pvpanic, NoHandlerIsHarmless) {
  Pvpanic dev(nullptr);
  EXPECT_TRUE(dev.mmio_write(0, 1, 1));
}

}  // namespace
}  // namespace vessel
