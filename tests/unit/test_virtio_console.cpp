// virtio-console, one port, driven through the virtio-mmio registers the way
// Linux's virtio_console (hvc) does: receiveq 0 for input, transmitq 1 for
// output.
#include "devices/virtio/console.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "devices/virtio/mmio_transport.hpp"
#include "devices/virtio/virtqueue.hpp"

namespace vessel::virtio {
namespace {

using namespace mmio;

constexpr uint64_t kRam = 0x8000'0000;
constexpr uint64_t kRamSize = 1 << 20;
constexpr uint16_t kQSize = 8;
// Rings of queue q at kRam + 0x1000 * (1 + 3q) ...
uint64_t desc_of(unsigned q) {
  return kRam + 0x1000 * (1 + 3 * q);
}
uint64_t avail_of(unsigned q) {
  return desc_of(q) + 0x1000;
}
uint64_t used_of(unsigned q) {
  return desc_of(q) + 0x2000;
}
constexpr uint64_t kData = kRam + 0x10000;

struct LevelSink : IrqSink {
  void set_irq(uint32_t, bool on) override { level = on; }
  bool level = false;
};

class VirtioConsoleTest : public ::testing::Test {
 protected:
  VirtioConsoleTest() {
    auto dev = std::make_unique<Console>(
        [this](std::span<const uint8_t> b) { out.append(b.begin(), b.end()); });
    console = dev.get();
    mmio = std::make_unique<VirtioMmio>(mem, IrqLine(&sink, 5), std::move(dev));
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
  void probe() {
    wr(kStatus, 0);
    wr(kStatus, kStatusAcknowledge | kStatusDriver);
    wr(kDriverFeaturesSel, 0);
    wr(kDriverFeatures, static_cast<uint32_t>(Console::kFSize));
    wr(kDriverFeaturesSel, 1);
    wr(kDriverFeatures, static_cast<uint32_t>(kFVersion1 >> 32));
    wr(kStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
    ASSERT_NE(rd(kStatus) & kStatusFeaturesOk, 0u);
    for (unsigned q = 0; q < 2; ++q) {
      wr(kQueueSel, q);
      wr(kQueueNum, kQSize);
      wr(kQueueDescLow, static_cast<uint32_t>(desc_of(q)));
      wr(kQueueDescHigh, static_cast<uint32_t>(desc_of(q) >> 32));
      wr(kQueueDriverLow, static_cast<uint32_t>(avail_of(q)));
      wr(kQueueDriverHigh, static_cast<uint32_t>(avail_of(q) >> 32));
      wr(kQueueDeviceLow, static_cast<uint32_t>(used_of(q)));
      wr(kQueueDeviceHigh, static_cast<uint32_t>(used_of(q) >> 32));
      wr(kQueueReady, 1);
    }
    wr(kStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  }
  // One-descriptor buffer `i` in queue q, published.
  void post(unsigned q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags) {
    put(desc_of(q) + 16 * uint64_t{i}, Descriptor{addr, len, flags, 0});
    const uint16_t idx = get<uint16_t>(avail_of(q) + 2);
    put<uint16_t>(avail_of(q) + 4 + 2 * uint64_t(idx % kQSize), i);
    put<uint16_t>(avail_of(q) + 2, idx + 1);
  }
  uint16_t used_idx(unsigned q) { return get<uint16_t>(used_of(q) + 2); }
  uint32_t used_len(unsigned q, uint16_t i) {
    return get<uint32_t>(used_of(q) + 8 + 8 * uint64_t(i % kQSize));
  }
  std::string text(uint64_t gpa, size_t n) {
    std::string s(n, '\0');
    EXPECT_TRUE(mem.read(gpa, {reinterpret_cast<uint8_t*>(s.data()), n}));
    return s;
  }
  static std::span<const uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
  }

  GuestMemory mem{kRam, kRamSize};
  LevelSink sink;
  std::string out;
  Console* console = nullptr;
  std::unique_ptr<VirtioMmio> mmio;
};

TEST_F(VirtioConsoleTest, IdentityAndConfig) {
  EXPECT_EQ(rd(kDeviceId), kIdConsole);
  wr(kDeviceFeaturesSel, 0);
  EXPECT_NE(rd(kDeviceFeatures) & Console::kFSize, 0u);
  EXPECT_EQ(rd(kDeviceFeatures) & Console::kFMultiport, 0u);
  uint64_t v = 0;
  ASSERT_TRUE(mmio->mmio_read(kConfig, 2, v));
  EXPECT_EQ(v, 80u);
  ASSERT_TRUE(mmio->mmio_read(kConfig + 2, 2, v));
  EXPECT_EQ(v, 24u);
  ASSERT_TRUE(mmio->mmio_read(kConfig + 12, 4, v));
  EXPECT_EQ(v, 0u);
}

TEST_F(VirtioConsoleTest, TransmitReachesOutput) {
  probe();
  ASSERT_TRUE(mem.write(kData, bytes("hello\n")));
  post(1, 0, kData, 6, 0);
  wr(kQueueNotify, 1);
  EXPECT_EQ(out, "hello\n");
  EXPECT_EQ(used_idx(1), 1);
  EXPECT_EQ(used_len(1, 0), 0u);
  EXPECT_TRUE(sink.level);
}

TEST_F(VirtioConsoleTest, EmergencyWriteOutputsOneByte) {
  EXPECT_TRUE(mmio->mmio_write(kConfig + 8, 4, 'A'));
  EXPECT_EQ(out, "A");
}

TEST_F(VirtioConsoleTest, InputWaitsForBuffersThenFillsThem) {
  probe();
  EXPECT_TRUE(console->receive(bytes("abcdefgh")));  // no buffers yet: kept
  EXPECT_EQ(used_idx(0), 0);
  post(0, 0, kData, 5, kDescWrite);
  wr(kQueueNotify, 0);
  EXPECT_EQ(used_idx(0), 1);
  EXPECT_EQ(used_len(0, 0), 5u);
  EXPECT_EQ(text(kData, 5), "abcde");
  post(0, 1, kData + 0x100, 64, kDescWrite);
  wr(kQueueNotify, 0);
  EXPECT_EQ(used_idx(0), 2);
  EXPECT_EQ(used_len(0, 1), 3u);
  EXPECT_EQ(text(kData + 0x100, 3), "fgh");
  EXPECT_TRUE(sink.level);
  // With a buffer already posted, input goes straight in.
  post(0, 2, kData + 0x200, 64, kDescWrite);
  wr(kQueueNotify, 0);
  EXPECT_EQ(used_idx(0), 2);  // nothing to deliver yet
  EXPECT_TRUE(console->receive(bytes("z")));
  EXPECT_EQ(used_idx(0), 3);
  EXPECT_EQ(text(kData + 0x200, 1), "z");
}

TEST_F(VirtioConsoleTest, InputBeyondPendingRoomIsRefusedWhole) {
  const std::string big(Console::kPendingMax, 'x');
  EXPECT_TRUE(console->receive(bytes(big)));  // not even active: kept
  EXPECT_EQ(console->rx_space(), 0u);
  EXPECT_FALSE(console->receive(bytes("y")));
  probe();
  post(0, 0, kData, 4096, kDescWrite);
  wr(kQueueNotify, 0);
  EXPECT_EQ(used_len(0, 0), 4096u);
  EXPECT_EQ(console->rx_space(), Console::kPendingMax);
}

TEST_F(VirtioConsoleTest, ResizeRaisesConfigChange) {
  probe();
  const uint32_t gen = rd(kConfigGeneration);
  console->resize(132, 50);
  EXPECT_NE(rd(kConfigGeneration), gen);
  EXPECT_EQ(rd(kInterruptStatus), kIntConfigChange);
  uint64_t v = 0;
  ASSERT_TRUE(mmio->mmio_read(kConfig, 4, v));
  EXPECT_EQ(v, (50u << 16) | 132u);
}

TEST_F(VirtioConsoleTest, HugeTransmitIsTruncated) {
  probe();
  post(1, 0, kRam, kRamSize, 0);  // all of RAM in one buffer
  wr(kQueueNotify, 1);
  EXPECT_EQ(out.size(), Console::kMaxTxPerChain);
  EXPECT_EQ(used_idx(1), 1);
}

TEST_F(VirtioConsoleTest, NothingMovesAfterReset) {
  probe();
  wr(kStatus, 0);
  ASSERT_TRUE(mem.write(kData, bytes("late")));
  post(1, 0, kData, 4, 0);
  wr(kQueueNotify, 1);
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(console->receive(bytes("q")));  // kept for the next driver
  EXPECT_EQ(used_idx(0), 0);
}

}  // namespace
}  // namespace vessel::virtio
