// The CLINT as OpenSBI and Linux (via SBI) use it: msip for IPIs, mtimecmp
// against mtime for the timer.
#include "platform/clint.hpp"

#include <gtest/gtest.h>

namespace vessel {
namespace {

class ClintTest : public ::testing::Test {
 protected:
  // Deterministic guest time: one tick per kInstructionsPerTick "retired
  // instructions", so tests move time by assigning `retired`.
  void set_time(uint64_t ticks) { retired = ticks * GuestClock::kInstructionsPerTick; }
  bool mtip(unsigned h) const { return (pins[h].level >> HartIrqPins::kMtip) & 1; }
  bool msip(unsigned h) const { return (pins[h].level >> HartIrqPins::kMsip) & 1; }
  uint64_t rd(uint64_t off, unsigned size) {
    uint64_t v = 0;
    EXPECT_TRUE(clint.mmio_read(off, size, v)) << std::hex << off;
    return v;
  }

  uint64_t retired = 0;
  GuestClock clock{GuestClock::Mode::kDeterministic, &retired};
  HartIrqPins pins[2];
  Clint clint{clock, {&pins[0], &pins[1]}};
};

TEST_F(ClintTest, ResetState) {
  EXPECT_EQ(clint.mtimecmp(0), UINT64_MAX);
  EXPECT_EQ(clint.mtimecmp(1), UINT64_MAX);
  EXPECT_EQ(rd(0x4000, 8), UINT64_MAX);
  EXPECT_EQ(pins[0].level, 0u);
  EXPECT_EQ(clint.next_deadline(), UINT64_MAX);
  EXPECT_EQ(clint.num_harts(), 2u);
}

TEST_F(ClintTest, MtimeAdvances) {
  EXPECT_EQ(rd(Clint::kMtime, 8), 0u);
  set_time(12345);
  EXPECT_EQ(rd(Clint::kMtime, 8), 12345u);
  set_time(0x1'2345'6789);
  EXPECT_EQ(rd(Clint::kMtime, 4), 0x2345'6789u);
  EXPECT_EQ(rd(Clint::kMtime + 4, 4), 0x1u);
}

TEST_F(ClintTest, MtipFollowsMtimecmp) {
  set_time(100);
  ASSERT_TRUE(clint.mmio_write(0x4000, 8, 150));
  EXPECT_FALSE(mtip(0));
  EXPECT_EQ(clint.next_deadline(), 150u);
  set_time(149);
  clint.update();
  EXPECT_FALSE(mtip(0));
  set_time(150);  // mtime >= mtimecmp: pending
  clint.update();
  EXPECT_TRUE(mtip(0));
  EXPECT_FALSE(mtip(1));
  EXPECT_EQ(clint.next_deadline(), UINT64_MAX);
  // Raising mtimecmp clears it without an update() call.
  ASSERT_TRUE(clint.mmio_write(0x4000, 8, 1000));
  EXPECT_FALSE(mtip(0));
  EXPECT_EQ(clint.next_deadline(), 1000u);
  // Lowering it into the past sets it at once.
  ASSERT_TRUE(clint.mmio_write(0x4000, 8, 10));
  EXPECT_TRUE(mtip(0));
}

TEST_F(ClintTest, MtimecmpHalvesAndSecondHart) {
  ASSERT_TRUE(clint.mmio_write(0x4008, 4, 0x1111'2222));
  EXPECT_EQ(clint.mtimecmp(1), 0xffff'ffff'1111'2222u);
  ASSERT_TRUE(clint.mmio_write(0x400c, 4, 0));
  EXPECT_EQ(clint.mtimecmp(1), 0x1111'2222u);
  EXPECT_EQ(rd(0x4008, 4), 0x1111'2222u);
  EXPECT_EQ(rd(0x400c, 4), 0u);
  EXPECT_EQ(clint.mtimecmp(0), UINT64_MAX);
  EXPECT_EQ(clint.next_deadline(), 0x1111'2222u);
}

TEST_F(ClintTest, NextDeadlineIsTheEarliestFuture) {
  set_time(50);
  clint.set_mtimecmp(0, 300);
  clint.set_mtimecmp(1, 200);
  EXPECT_EQ(clint.next_deadline(), 200u);
  set_time(250);
  EXPECT_EQ(clint.next_deadline(), 300u);
}

TEST_F(ClintTest, MsipRaisesSoftwareInterrupt) {
  ASSERT_TRUE(clint.mmio_write(0x4, 4, 0xffff'ffff));
  EXPECT_TRUE(msip(1));
  EXPECT_FALSE(msip(0));
  EXPECT_EQ(rd(0x4, 4), 1u);  // only bit 0 is writable
  EXPECT_TRUE(clint.msip(1));
  ASSERT_TRUE(clint.mmio_write(0x4, 4, 2));
  EXPECT_FALSE(msip(1));
}

TEST_F(ClintTest, MtimeWriteMovesGuestTime) {
  set_time(1000);
  clint.set_mtimecmp(0, 5000);
  ASSERT_TRUE(clint.mmio_write(Clint::kMtime, 8, 6000));
  EXPECT_EQ(clock.now(), 6000u);
  EXPECT_TRUE(mtip(0));
  ASSERT_TRUE(clint.mmio_write(Clint::kMtime + 4, 4, 1));
  EXPECT_EQ(clock.now(), 0x1'0000'0000u + 6000);
}

TEST_F(ClintTest, AbsentHartsReadZeroAndIgnoreWrites) {
  EXPECT_TRUE(clint.mmio_write(0x8, 4, 1));  // msip of hart 2
  EXPECT_EQ(rd(0x8, 4), 0u);
  EXPECT_TRUE(clint.mmio_write(0x4010, 8, 5));  // mtimecmp of hart 2
  EXPECT_EQ(rd(0x4010, 8), 0u);
  EXPECT_EQ(rd(0xbff0, 8), 0u);  // gap below mtime
  EXPECT_EQ(rd(0xc000, 8), 0u);  // past mtime
  EXPECT_TRUE(clint.mmio_write(0xfff8, 8, 1));
  EXPECT_EQ(clint.mtimecmp(7), UINT64_MAX);
  clint.set_mtimecmp(7, 0);  // ignored, no crash
  EXPECT_FALSE(clint.msip(7));
  EXPECT_EQ(pins[0].level | pins[1].level, 0u);
}

TEST_F(ClintTest, BadSizesAndAlignmentFault) {
  uint64_t v = 0;
  EXPECT_FALSE(clint.mmio_read(0x0, 1, v));
  EXPECT_FALSE(clint.mmio_read(0x0, 8, v));
  EXPECT_FALSE(clint.mmio_write(0x2, 4, 1));
  EXPECT_FALSE(clint.mmio_write(0x4000, 2, 1));
  EXPECT_FALSE(clint.mmio_write(0x4004, 8, 1));
  EXPECT_FALSE(clint.mmio_read(Clint::kMtime + 4, 8, v));
  EXPECT_FALSE(clint.mmio_read(Clint::kMtime, 1, v));
  EXPECT_FALSE(clint.mmio_write(Clint::kMtime, 3, 1));
  EXPECT_EQ(clint.mtimecmp(0), UINT64_MAX);
  EXPECT_EQ(pins[0].level, 0u);
}

TEST(Clint, NoHartsAndNullPins) {
  uint64_t retired = 0;
  GuestClock clock(GuestClock::Mode::kDeterministic, &retired);
  Clint none(clock, {});
  uint64_t v = 0;
  EXPECT_TRUE(none.mmio_write(0x4000, 8, 0));
  EXPECT_TRUE(none.mmio_read(0x0, 4, v));
  EXPECT_EQ(none.next_deadline(), UINT64_MAX);
  Clint null_pins(clock, {nullptr});
  EXPECT_TRUE(null_pins.mmio_write(0x0, 4, 1));
  EXPECT_TRUE(null_pins.mmio_write(0x4000, 8, 0));
  null_pins.update();
  // A hart without pins still has its registers; only the wires are absent.
  EXPECT_TRUE(null_pins.msip(0));
  EXPECT_EQ(null_pins.mtimecmp(0), 0u);
  EXPECT_EQ(null_pins.next_deadline(), UINT64_MAX) << "mtimecmp 0 is reached already";
}

}  // namespace
}  // namespace vessel
