#include "devices/bus.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

namespace vessel {
namespace {

// Records accesses; refuses offsets at or above `refuse_from`.
struct Recorder : MmioDevice {
  struct Access {
    bool write;
    uint64_t offset;
    unsigned size;
    uint64_t value;
  };
  bool mmio_read(uint64_t offset, unsigned size, uint64_t& value) override {
    log.push_back({false, offset, size, 0});
    value = 0x1000 + offset;
    return offset < refuse_from;
  }
  bool mmio_write(uint64_t offset, unsigned size, uint64_t value) override {
    log.push_back({true, offset, size, value});
    return offset < refuse_from;
  }
  std::vector<Access> log;
  uint64_t refuse_from = ~uint64_t{0};
};

TEST(Bus, DispatchesWithOffsets) {
  Bus bus;
  Recorder a, b;
  bus.map(0x1000, 0x100, &a, "a");
  bus.map(0x2000, 0x1000, &b, "b");
  uint64_t v = 0;
  EXPECT_TRUE(bus.read(0x1010, 4, v));
  EXPECT_EQ(v, 0x1010u);
  EXPECT_TRUE(bus.write(0x2ff8, 8, 42));
  ASSERT_EQ(b.log.size(), 1u);
  EXPECT_EQ(b.log[0].offset, 0xff8u);
  EXPECT_EQ(b.log[0].size, 8u);
  EXPECT_EQ(b.log[0].value, 42u);
  EXPECT_EQ(a.log.size(), 1u);
  EXPECT_EQ(bus.regions().size(), 2u);
  EXPECT_EQ(bus.regions()[0].name, "a");
}

TEST(Bus, UnmappedAndStraddlingAccessesFail) {
  Bus bus;
  Recorder a;
  bus.map(0x1000, 0x100, &a, "a");
  uint64_t v = 0;
  EXPECT_FALSE(bus.read(0xfff, 1, v));
  EXPECT_FALSE(bus.read(0x1100, 1, v));
  EXPECT_FALSE(bus.read(0x10fc, 8, v));   // runs past the end
  EXPECT_FALSE(bus.write(0x0ffc, 8, 0));  // starts before the region
  EXPECT_FALSE(bus.read(~uint64_t{0}, 8, v));
  EXPECT_FALSE(bus.write(~uint64_t{0} - 3, 8, 0));
  EXPECT_TRUE(a.log.empty());
  EXPECT_TRUE(bus.read(0x10f8, 8, v));
}

TEST(Bus, DeviceRefusalPropagates) {
  Bus bus;
  Recorder a;
  a.refuse_from = 0x10;
  bus.map(0x1000, 0x100, &a, "a");
  uint64_t v = 0;
  EXPECT_TRUE(bus.read(0x1008, 4, v));
  EXPECT_FALSE(bus.read(0x1010, 4, v));
  EXPECT_FALSE(bus.write(0x1010, 4, 0));
}

TEST(Bus, LastHitCacheDoesNotMisroute) {
  Bus bus;
  Recorder a, b;
  bus.map(0x1000, 0x100, &a, "a");
  bus.map(0x1100, 0x100, &b, "b");
  uint64_t v = 0;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(bus.read(0x1000, 4, v));
    EXPECT_TRUE(bus.read(0x1100, 4, v));
  }
  EXPECT_EQ(a.log.size(), 3u);
  EXPECT_EQ(b.log.size(), 3u);
  Recorder c;
  bus.map(0x3000, 0x10, &c, "c");  // remapping must not leave a stale cache
  EXPECT_TRUE(bus.read(0x3000, 4, v));
  EXPECT_EQ(c.log.size(), 1u);
}

TEST(Bus, BadMapsThrow) {
  Bus bus;
  Recorder a;
  bus.map(0x1000, 0x100, &a, "a");
  EXPECT_THROW(bus.map(0x10ff, 0x10, &a, "overlap-end"), std::logic_error);
  EXPECT_THROW(bus.map(0x0f00, 0x101, &a, "overlap-start"), std::logic_error);
  EXPECT_THROW(bus.map(0x0, 0x10000, &a, "covers"), std::logic_error);
  EXPECT_THROW(bus.map(0x5000, 0, &a, "empty"), std::logic_error);
  EXPECT_THROW(bus.map(~uint64_t{0} - 0xf, 0x100, &a, "wraps"), std::logic_error);
  bus.map(0x0f00, 0x100, &a, "adjacent");
  EXPECT_EQ(bus.regions().size(), 2u);
}

}  // namespace
}  // namespace vessel
