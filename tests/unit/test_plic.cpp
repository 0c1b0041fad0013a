// The PLIC as Linux's irq-sifive-plic driver and OpenSBI drive it.
#include "platform/plic.hpp"

#include <gtest/gtest.h>

namespace vessel {
namespace {

constexpr uint64_t priority(uint32_t src) {
  return 4 * src;
}
constexpr uint64_t enable(unsigned ctx, unsigned word = 0) {
  return 0x2000 + 0x80 * ctx + 4 * word;
}
constexpr uint64_t threshold(unsigned ctx) {
  return 0x200000 + 0x1000 * ctx;
}
constexpr uint64_t claim(unsigned ctx) {
  return threshold(ctx) + 4;
}

class PlicTest : public ::testing::Test {
 protected:
  uint32_t rd(uint64_t off) {
    uint64_t v = 0xdeadbeef;
    EXPECT_TRUE(plic.mmio_read(off, 4, v)) << std::hex << off;
    return static_cast<uint32_t>(v);
  }
  void wr(uint64_t off, uint32_t v) { EXPECT_TRUE(plic.mmio_write(off, 4, v)) << std::hex << off; }
  bool meip(unsigned h) const { return (pins[h].level >> HartIrqPins::kMeip) & 1; }
  bool seip(unsigned h) const { return (pins[h].level >> HartIrqPins::kSeip) & 1; }
  void enable_source(unsigned ctx, uint32_t src) {
    const uint64_t off = enable(ctx, src / 32);
    wr(off, rd(off) | (1u << (src % 32)));
  }

  HartIrqPins pins[2];
  Plic plic{{&pins[0], &pins[1]}};
};

TEST_F(PlicTest, ResetState) {
  EXPECT_EQ(plic.num_contexts(), 4u);
  EXPECT_EQ(rd(priority(1)), 0u);
  EXPECT_EQ(rd(0x1000), 0u);
  EXPECT_EQ(rd(claim(0)), 0u);
  EXPECT_EQ(pins[0].level | pins[1].level, 0u);
}

TEST_F(PlicTest, PendingBitsFollowLines) {
  plic.set_irq(10, true);
  plic.set_irq(33, true);
  EXPECT_EQ(rd(0x1000), 1u << 10);
  EXPECT_EQ(rd(0x1004), 1u << 1);
  EXPECT_TRUE(plic.pending(10));
  plic.set_irq(10, false);  // level-triggered: not claimed yet, so it goes away
  EXPECT_FALSE(plic.pending(10));
}

TEST_F(PlicTest, PriorityZeroNeverInterrupts) {
  enable_source(1, 10);
  plic.set_irq(10, true);
  EXPECT_FALSE(seip(0));
  EXPECT_EQ(rd(claim(1)), 0u);
  wr(priority(10), 1);
  EXPECT_TRUE(seip(0));
}

TEST_F(PlicTest, ClaimOrderByPriorityThenLowestId) {
  for (uint32_t src : {5u, 6u, 7u, 40u}) {
    enable_source(0, src);
    plic.set_irq(src, true);
  }
  wr(priority(5), 2);
  wr(priority(6), 7);
  wr(priority(7), 2);
  wr(priority(40), 7);
  EXPECT_TRUE(meip(0));
  EXPECT_EQ(rd(claim(0)), 6u);
  EXPECT_EQ(rd(claim(0)), 40u);
  EXPECT_EQ(rd(claim(0)), 5u);
  EXPECT_EQ(rd(claim(0)), 7u);
  EXPECT_EQ(rd(claim(0)), 0u);
  EXPECT_FALSE(meip(0));  // everything is claimed
  EXPECT_TRUE(plic.claimed(6));
  EXPECT_FALSE(plic.pending(6));
}

TEST_F(PlicTest, ThresholdMasks) {
  enable_source(1, 3);
  wr(priority(3), 4);
  plic.set_irq(3, true);
  EXPECT_TRUE(seip(0));
  wr(threshold(1), 4);  // priority must be strictly above the threshold
  EXPECT_FALSE(seip(0));
  EXPECT_EQ(rd(claim(1)), 0u);
  EXPECT_TRUE(plic.pending(3));  // masked, not lost
  wr(threshold(1), 3);
  EXPECT_TRUE(seip(0));
  EXPECT_EQ(rd(threshold(1)), 3u);
  wr(threshold(1), 0xffff'fff8);  // WARL: 3 bits
  EXPECT_EQ(rd(threshold(1)), 0u);
}

TEST_F(PlicTest, CompletionRependsAStillHighLine) {
  enable_source(1, 10);
  wr(priority(10), 1);
  plic.set_irq(10, true);
  EXPECT_EQ(rd(claim(1)), 10u);
  EXPECT_FALSE(seip(0));
  plic.set_irq(10, true);  // still high while claimed: no new request yet
  EXPECT_FALSE(plic.pending(10));
  EXPECT_FALSE(seip(0));
  wr(claim(1), 10);  // complete with the line still up
  EXPECT_TRUE(plic.pending(10));
  EXPECT_TRUE(seip(0));
  EXPECT_EQ(rd(claim(1)), 10u);
  plic.set_irq(10, false);  // the driver serviced the device
  wr(claim(1), 10);
  EXPECT_FALSE(plic.pending(10));
  EXPECT_FALSE(seip(0));
}

TEST_F(PlicTest, MachineAndSupervisorContextsDriveMeipAndSeip) {
  wr(priority(1), 1);
  wr(priority(2), 1);
  enable_source(0, 1);  // hart 0 M
  enable_source(3, 2);  // hart 1 S
  plic.set_irq(1, true);
  EXPECT_TRUE(meip(0));
  EXPECT_FALSE(seip(0));
  EXPECT_EQ(pins[1].level, 0u);
  plic.set_irq(2, true);
  EXPECT_TRUE(seip(1));
  EXPECT_FALSE(meip(1));
  EXPECT_EQ(rd(claim(3)), 2u);
  EXPECT_FALSE(seip(1));
  EXPECT_TRUE(meip(0));
}

TEST_F(PlicTest, SourceEnabledInTwoContextsIsClaimedOnce) {
  wr(priority(9), 1);
  enable_source(1, 9);
  enable_source(3, 9);
  plic.set_irq(9, true);
  EXPECT_TRUE(seip(0));
  EXPECT_TRUE(seip(1));
  EXPECT_EQ(rd(claim(3)), 9u);
  EXPECT_FALSE(seip(0));
  EXPECT_EQ(rd(claim(1)), 0u);
}

TEST_F(PlicTest, CompleteOfSourceNotEnabledIsIgnored) {
  wr(priority(4), 1);
  enable_source(1, 4);
  plic.set_irq(4, true);
  EXPECT_EQ(rd(claim(1)), 4u);
  wr(claim(0), 4);  // context 0 does not have 4 enabled
  EXPECT_TRUE(plic.claimed(4));
  wr(claim(1), 0);
  wr(claim(1), 96);
  wr(claim(1), 0xffff'ffff);
  EXPECT_TRUE(plic.claimed(4));
  wr(claim(1), 4);
  EXPECT_FALSE(plic.claimed(4));
}

TEST_F(PlicTest, SourceZeroCannotBeUsed) {
  wr(priority(0), 7);
  EXPECT_EQ(rd(priority(0)), 0u);
  wr(enable(0), 0xffff'ffff);
  EXPECT_EQ(rd(enable(0)), 0xffff'fffeu);
  plic.set_irq(0, true);
  plic.set_irq(96, true);
  plic.set_irq(0xffff'ffff, true);
  EXPECT_EQ(rd(0x1000), 0u);
  EXPECT_EQ(rd(0x100c), 0u);
  EXPECT_FALSE(plic.pending(96));
}

TEST_F(PlicTest, PriorityIsThreeBits) {
  wr(priority(95), 0xff);
  EXPECT_EQ(rd(priority(95)), 7u);
  EXPECT_EQ(rd(priority(96)), 0u);  // no such source
  wr(priority(96), 5);
  EXPECT_EQ(rd(priority(96)), 0u);
}

TEST_F(PlicTest, PendingIsReadOnly) {
  wr(0x1000, 0xffff'ffff);
  EXPECT_EQ(rd(0x1000), 0u);
  EXPECT_EQ(pins[0].level, 0u);
}

TEST_F(PlicTest, AbsentContextsAndReservedSpace) {
  // Contexts 4.. do not exist with two harts.
  wr(enable(4), 0xffff'ffff);
  EXPECT_EQ(rd(enable(4)), 0u);
  wr(threshold(4), 1);
  EXPECT_EQ(rd(threshold(4)), 0u);
  wr(priority(1), 1);
  plic.set_irq(1, true);
  EXPECT_EQ(rd(claim(4)), 0u);
  EXPECT_EQ(rd(claim(15871)), 0u);
  wr(claim(4), 1);
  EXPECT_EQ(rd(enable(0, 3)), 0u);  // past the last enable word
  EXPECT_EQ(rd(threshold(0) + 8), 0u);
  EXPECT_EQ(rd(0x1f'fffc), 0u);
  EXPECT_EQ(rd(0x5f'fffc), 0u);
  EXPECT_EQ(rd(0xffff'fffc), 0u);
  EXPECT_TRUE(plic.pending(1));
}

TEST_F(PlicTest, NonWordAccessesFault) {
  uint64_t v = 0;
  EXPECT_FALSE(plic.mmio_read(priority(1), 1, v));
  EXPECT_FALSE(plic.mmio_read(priority(1), 8, v));
  EXPECT_FALSE(plic.mmio_write(priority(1) + 2, 4, 7));
  EXPECT_FALSE(plic.mmio_write(claim(0), 2, 1));
  EXPECT_EQ(rd(priority(1)), 0u);
}

TEST(Plic, NoHartsOrNullPins) {
  Plic none({});
  none.set_irq(1, true);
  uint64_t v = 0;
  EXPECT_TRUE(none.mmio_read(0x200004, 4, v));
  EXPECT_EQ(v, 0u);
  Plic null_pins({nullptr});
  EXPECT_TRUE(null_pins.mmio_write(0x2000, 4, 2));
  EXPECT_TRUE(null_pins.mmio_write(4, 4, 1));
  null_pins.set_irq(1, true);
  EXPECT_TRUE(null_pins.mmio_read(0x200004, 4, v));
  EXPECT_EQ(v, 1u);
}

}  // namespace
}  // namespace vessel
