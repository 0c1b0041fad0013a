// virtio-rng end to end: a driver programs the virtio-mmio registers, posts
// buffers and notifies, and finds them filled in the used ring.
#include "devices/virtio/rng.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "devices/virtio/mmio_transport.hpp"
#include "virtio_test_driver.hpp"

namespace vessel::virtio {
namespace {

using namespace mmio;

constexpr uint64_t kRam = 0x8000'0000;
constexpr uint64_t kRamSize = 1 << 20;
constexpr uint64_t kData = kRam + 0x10000;
constexpr uint16_t kQSize = 16;

// The one queue's rings at kRam + 0x1000.
class VirtioRngTest : public ::testing::Test, public test::MmioDriver {
 protected:
  VirtioRngTest() : MmioDriver(kQSize, kRam + 0x1000) {}
  void make(Rng::Source source = {}) {
    mmio = std::make_unique<VirtioMmio>(mem, IrqLine(&sink, 3),
                                        std::make_unique<Rng>(std::move(source)));
    bind(*mmio);
  }

  // What Linux's virtio_mmio + virtio_rng do at probe (3.1.1, 4.2.3).
  void probe(bool driver_ok = true) {
    ASSERT_EQ(rd(kMagicValue), kMagic);
    ASSERT_EQ(rd(kVersion), 2u);
    ASSERT_EQ(rd(kDeviceId), kIdRng);
    wr(kStatus, 0);
    wr(kStatus, kStatusAcknowledge);
    wr(kStatus, kStatusAcknowledge | kStatusDriver);
    const uint64_t offered = device_features();
    ASSERT_NE(offered & kFVersion1, 0u);
    negotiate(offered & (kFVersion1 | kFEventIdx));
    wr(kQueueSel, 0);
    ASSERT_EQ(rd(kQueueReady), 0u);
    setup_queue(0);
    if (driver_ok) this->driver_ok();
  }
  void desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next = 0) {
    put_desc(0, i, Descriptor{addr, len, flags, next});
  }

  GuestMemory mem{kRam, kRamSize};
  test::LevelSink sink;
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
  publish(0, 0);
  publish(0, 1);
  publish(0, 5);
  wr(kQueueNotify, 0);

  ASSERT_EQ(used_idx(0), 3);
  EXPECT_EQ(used_id(0, 0), 0u);
  EXPECT_EQ(used_len(0, 0), 64u);
  EXPECT_EQ(used_id(0, 1), 1u);
  EXPECT_EQ(used_len(0, 1), 64u);
  EXPECT_EQ(used_id(0, 2), 5u);
  EXPECT_EQ(used_len(0, 2), Rng::kMaxBytesPerRequest);
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
  publish(0, 0);
  wr(kQueueNotify, 0);
  ASSERT_EQ(used_idx(0), 1);
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
  publish(0, 0);
  wr(kQueueNotify, 0);
  ASSERT_EQ(used_idx(0), 1);
  EXPECT_EQ(used_len(0, 0), 10u);
}

TEST_F(VirtioRngTest, ReadOnlyBufferIsReturnedEmpty) {
  make();
  probe();
  desc(0, kData, 64, 0);
  publish(0, 0);
  wr(kQueueNotify, 0);
  ASSERT_EQ(used_idx(0), 1);
  EXPECT_EQ(used_len(0, 0), 0u);
  EXPECT_TRUE(all_zero(bytes(kData, 64)));
}

TEST_F(VirtioRngTest, BuffersPostedBeforeDriverOkAreServedOnActivation) {
  make();
  probe(/*driver_ok=*/false);
  desc(0, kData, 16, kDescWrite);
  publish(0, 0);
  wr(kQueueNotify, 0);  // too early: ignored
  EXPECT_EQ(used_idx(0), 0);
  wr(kStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  EXPECT_EQ(used_idx(0), 1);
  EXPECT_EQ(used_len(0, 0), 16u);
}

TEST_F(VirtioRngTest, NothingIsServedAfterReset) {
  make();
  probe();
  wr(kStatus, 0);
  desc(0, kData, 16, kDescWrite);
  publish(0, 0);
  wr(kQueueNotify, 0);
  EXPECT_EQ(used_idx(0), 0);
  EXPECT_TRUE(all_zero(bytes(kData, 16)));
}

TEST_F(VirtioRngTest, BadBufferNeedsReset) {
  make();
  probe();
  desc(0, kRam + kRamSize - 8, 64, kDescWrite);  // runs off the end of RAM
  publish(0, 0);
  wr(kQueueNotify, 0);
  EXPECT_EQ(used_idx(0), 0);
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
