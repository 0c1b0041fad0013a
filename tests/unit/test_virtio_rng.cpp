// virtio-rng end to end: a driver programs the virtio-mmio registers, posts
// buffers and notifies, and finds them filled in the used ring.
#include "devices/virtio/rng.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "devices/virtio/mmio_transport.hpp"

namespace vessel::virtio {
namespace {

using namespace mmio;

constexpr uint64_t kRam = 0x8000'0000;
constexpr uint64_t kRamSize = 1 << 20;
constexpr uint64_t kDesc = kRam + 0x1000, kAvail = kRam + 0x2000, kUsed = kRam + 0x3000;
constexpr uint64_t kData = kRam + 0x10000;
constexpr uint16_t kQSize = 16;

struct LevelSink : IrqSink {
  void set_irq(uint32_t, bool on) override { level = on; }
  bool level = false;
};

class VirtioRngTest : public ::testing::Test {
 protected:
  void make(Rng::Source source = {}) {
    mmio = std::make_unique<VirtioMmio>(mem, IrqLine(&sink, 3),
                                        std::make_unique<Rng>(std::move(source)));
  }
  uint32_t rd(uint64_t off) {
    uint64_t v = 0;
    EXPECT_TRUE(mmio->mmio_read(off, 4, v));
    return static_cast<uint32_t>(v);
  }
  void wr(uint64_t off, uint32_t v) { EXPECT_TRUE(mmio->mmio_write(off, 4, v)); }
  template <typename T>
  void put(uint64_t gpa, T v) {
    ASSERT_TRUE(mem.write(gpa, {reinterpret_cast<const uint8_t*>(&v), sizeof v}));
  }
  template <typename T>
  T get(uint64_t gpa) {
    T v{};
    EXPECT_TRUE(mem.read(gpa, {reinterpret_cast<uint8_t*>(&v), sizeof v}));
    return v;
  }

  // What Linux's virtio_mmio + virtio_rng do at probe (3.1.1, 4.2.3).
  void probe(bool driver_ok = true) {
    ASSERT_EQ(rd(kMagicValue), kMagic);
    ASSERT_EQ(rd(kVersion), 2u);
    ASSERT_EQ(rd(kDeviceId), kIdRng);
    wr(kStatus, 0);
    wr(kStatus, kStatusAcknowledge);
    wr(kStatus, kStatusAcknowledge | kStatusDriver);
    wr(kDeviceFeaturesSel, 1);
    const uint64_t hi = rd(kDeviceFeatures);
    wr(kDeviceFeaturesSel, 0);
    const uint64_t offered = hi << 32 | rd(kDeviceFeatures);
    ASSERT_NE(offered & kFVersion1, 0u);
    const uint64_t accept = offered & (kFVersion1 | kFEventIdx);
    wr(kDriverFeaturesSel, 0);
    wr(kDriverFeatures, static_cast<uint32_t>(accept));
    wr(kDriverFeaturesSel, 1);
    wr(kDriverFeatures, static_cast<uint32_t>(accept >> 32));
    wr(kStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
    ASSERT_NE(rd(kStatus) & kStatusFeaturesOk, 0u);
    wr(kQueueSel, 0);
    ASSERT_EQ(rd(kQueueReady), 0u);
    ASSERT_GE(rd(kQueueNumMax), kQSize);
    wr(kQueueNum, kQSize);
    wr(kQueueDescLow, static_cast<uint32_t>(kDesc));
    wr(kQueueDescHigh, static_cast<uint32_t>(kDesc >> 32));
    wr(kQueueDriverLow, static_cast<uint32_t>(kAvail));
    wr(kQueueDriverHigh, static_cast<uint32_t>(kAvail >> 32));
    wr(kQueueDeviceLow, static_cast<uint32_t>(kUsed));
    wr(kQueueDeviceHigh, static_cast<uint32_t>(kUsed >> 32));
    wr(kQueueReady, 1);
    if (driver_ok) {
      wr(kStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
    }
  }
  void desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next = 0) {
    put(kDesc + 16 * uint64_t{i}, Descriptor{addr, len, flags, next});
  }
  void publish(uint16_t head) {
    const uint16_t idx = get<uint16_t>(kAvail + 2);
    put<uint16_t>(kAvail + 4 + 2 * uint64_t(idx % kQSize), head);
    put<uint16_t>(kAvail + 2, idx + 1);
  }
  uint16_t used_idx() { return get<uint16_t>(kUsed + 2); }
  uint32_t used_id(uint16_t i) { return get<uint32_t>(kUsed + 4 + 8 * uint64_t(i % kQSize)); }
  uint32_t used_len(uint16_t i) { return get<uint32_t>(kUsed + 8 + 8 * uint64_t(i % kQSize)); }
  std::vector<uint8_t> bytes(uint64_t gpa, size_t n) {
    std::vector<uint8_t> v(n);
    EXPECT_TRUE(mem.read(gpa, v));
    return v;
  }

  GuestMemory mem{kRam, kRamSize};
  LevelSink sink;
  std::unique_ptr<VirtioMmio> mmio;
};

bool all_zero(const std::vector<uint8_t>& v) {
  return std::all_of(v.begin(), v.end(), [](uint8_t b) { return b == 0; });
}

TEST_F(VirtioRngTest, EndToEndWithHostRandomness) {
  make();
  probe();
  desc(0, kData, 64, kDescWrite);
  desc(1, kData + 0x1000, 32, kDescWrite | kDescNext, 2);
  desc(2, kData + 0x2000, 32, kDescWrite);
  desc(5, kRam + 0x40000, 100 * 1024, kDescWrite);  // more than one request gets
  publish(0);
  publish(1);
  publish(5);
  wr(kQueueNotify, 0);

  ASSERT_EQ(used_idx(), 3);
  EXPECT_EQ(used_id(0), 0u);
  EXPECT_EQ(used_len(0), 64u);
  EXPECT_EQ(used_id(1), 1u);
  EXPECT_EQ(used_len(1), 64u);
  EXPECT_EQ(used_id(2), 5u);
  EXPECT_EQ(used_len(2), Rng::kMaxBytesPerRequest);
  EXPECT_FALSE(all_zero(bytes(kData, 64)));
  EXPECT_FALSE(all_zero(bytes(kData + 0x1000, 32)));
  EXPECT_FALSE(all_zero(bytes(kData + 0x2000, 32)));
  // Nothing past the reported length was touched.
  EXPECT_TRUE(all_zero(bytes(kRam + 0x40000 + Rng::kMaxBytesPerRequest, 1024)));

  EXPECT_TRUE(sink.level);
  EXPECT_EQ(rd(kInterruptStatus), kIntUsedBuffer);
  wr(kInterruptAck, kIntUsedBuffer);
  EXPECT_FALSE(sink.level);
  EXPECT_EQ(rd(kStatus) & kStatusNeedsReset, 0u);
}

TEST_F(VirtioRngTest, BytesComeFromTheSource) {
  make([](std::span<uint8_t> out) {
    std::fill(out.begin(), out.end(), 0xab);
    return out.size();
  });
  probe();
  desc(0, kData, 8, kDescWrite);
  publish(0);
  wr(kQueueNotify, 0);
  ASSERT_EQ(used_idx(), 1);
  EXPECT_EQ(get<uint64_t>(kData), 0xababababababababull);
  EXPECT_EQ(get<uint8_t>(kData + 8), 0);
}

TEST_F(VirtioRngTest, ShortSourceReportsOnlyWhatWasFilled) {
  size_t budget = 10;
  make([&](std::span<uint8_t> out) {
    const size_t n = std::min(budget, out.size());
    std::fill_n(out.begin(), n, 0x5a);
    budget -= n;
    return n;
  });
  probe();
  desc(0, kData, 6, kDescWrite | kDescNext, 1);
  desc(1, kData + 0x100, 16, kDescWrite);
  publish(0);
  wr(kQueueNotify, 0);
  ASSERT_EQ(used_idx(), 1);
  EXPECT_EQ(used_len(0), 10u);
}

TEST_F(VirtioRngTest, ReadOnlyBufferIsReturnedEmpty) {
  make();
  probe();
  desc(0, kData, 64, 0);
  publish(0);
  wr(kQueueNotify, 0);
  ASSERT_EQ(used_idx(), 1);
  EXPECT_EQ(used_len(0), 0u);
  EXPECT_TRUE(all_zero(bytes(kData, 64)));
}

TEST_F(VirtioRngTest, BuffersPostedBeforeDriverOkAreServedOnActivation) {
  make();
  probe(/*driver_ok=*/false);
  desc(0, kData, 16, kDescWrite);
  publish(0);
  wr(kQueueNotify, 0);  // too early: ignored
  EXPECT_EQ(used_idx(), 0);
  wr(kStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  EXPECT_EQ(used_idx(), 1);
  EXPECT_EQ(used_len(0), 16u);
}

TEST_F(VirtioRngTest, NothingIsServedAfterReset) {
  make();
  probe();
  wr(kStatus, 0);
  desc(0, kData, 16, kDescWrite);
  publish(0);
  wr(kQueueNotify, 0);
  EXPECT_EQ(used_idx(), 0);
  EXPECT_TRUE(all_zero(bytes(kData, 16)));
}

TEST_F(VirtioRngTest, BadBufferNeedsReset) {
  make();
  probe();
  desc(0, kRam + kRamSize - 8, 64, kDescWrite);  // runs off the end of RAM
  publish(0);
  wr(kQueueNotify, 0);
  EXPECT_EQ(used_idx(), 0);
  EXPECT_NE(rd(kStatus) & kStatusNeedsReset, 0u);
  EXPECT_EQ(rd(kInterruptStatus), kIntConfigChange);
}

TEST(VirtioRng, HostRandomFills) {
  std::vector<uint8_t> buf(4096);
  EXPECT_EQ(host_random(buf), buf.size());
  EXPECT_FALSE(all_zero(buf));
}

}  // namespace
}  // namespace vessel::virtio
