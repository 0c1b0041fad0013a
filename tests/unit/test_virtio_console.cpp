// virtio-console, one port, driven through the virtio-mmio registers the way
// Linux's virtio_console (hvc) does: receiveq 0 for input, transmitq 1 for
// output.
#include "devices/virtio/console.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "devices/virtio/mmio_transport.hpp"
#include "devices/virtio/virtqueue.hpp"
#include "virtio_test_driver.hpp"

namespace vessel::virtio {
namespace {

using namespace mmio;

constexpr uint64_t kRam = 0x8000'0000;
constexpr uint64_t kRamSize = 1 << 20;
constexpr uint16_t kQSize = 8;
constexpr uint64_t kData = kRam + 0x10000;

// Rings of queue q at kRam + 0x1000 * (1 + 3q) ...
class VirtioConsoleTest : public ::testing::Test, public test::MmioDriver {
 protected:
  VirtioConsoleTest() : MmioDriver(kQSize, kRam + 0x1000, 0x3000) {
    auto dev = std::make_unique<Console>(
        [this](std::span<const uint8_t> b) { out.append(b.begin(), b.end()); });
    console = dev.get();
    mmio = std::make_unique<VirtioMmio>(mem, IrqLine(&sink, 5), std::move(dev));
    bind(*mmio);
  }
  void probe() {
    wr(kStatus, 0);
    wr(kStatus, kStatusAcknowledge | kStatusDriver);
    negotiate(Console::kFSize | kFVersion1);
    for (unsigned q = 0; q < 2; ++q) setup_queue(q);
    driver_ok();
  }
  // One-descriptor buffer `i` in queue q, published.
  void post(unsigned q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags) {
    put_desc(q, i, Descriptor{addr, len, flags, 0});
    publish(q, i);
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
  test::LevelSink sink;
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
