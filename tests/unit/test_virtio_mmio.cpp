// The virtio-mmio transport as a driver sees it: registers, feature
// negotiation, the status state machine, interrupts, and what a hostile
// driver's register writes can (not) do.
#include "devices/virtio/mmio_transport.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace vessel::virtio {
namespace {

using namespace mmio;

constexpr uint64_t kRam = 0x8000'0000;
constexpr uint64_t kRamSize = 1 << 20;
constexpr uint64_t kDesc = kRam + 0x1000, kAvail = kRam + 0x2000, kUsed = kRam + 0x3000;
constexpr uint64_t kData = kRam + 0x10000;
constexpr uint16_t kQSize = 8;

struct LevelSink : IrqSink {
  void set_irq(uint32_t, bool on) override { level = on; }
  bool level = false;
};

// A device that records what the transport tells it and, on notify, returns
// every chain with its writable bytes counted as used.
struct FakeDevice : VirtioDevice {
  static constexpr uint64_t kFeatures = (1ull << 0) | (1ull << 5);
  uint32_t device_id() const override { return 42; }
  uint64_t device_features() const override { return kFeatures; }
  unsigned num_queues() const override { return 2; }
  uint16_t queue_max_size(unsigned q) const override { return q == 0 ? 16 : 8; }
  void read_config(uint64_t offset, std::span<uint8_t> out) override {
    for (size_t i = 0; i < out.size(); ++i) {
      out[i] = offset + i < config.size() ? config[offset + i] : 0;
    }
  }
  void write_config(uint64_t offset, std::span<const uint8_t> in) override {
    config_writes.push_back({offset, in.size()});
  }
  void activate(uint64_t features) override {
    ++activations;
    activated_features = features;
  }
  void reset() override { ++resets; }
  void queue_notify(unsigned q) override {
    notifies.push_back(q);
    bool any = false;
    while (auto chain = host_->queue(q).pop()) {
      host_->queue(q).push(*chain, static_cast<uint32_t>(chain->writable_bytes()));
      any = true;
    }
    if (any) host_->notify_used(q);
  }
  VirtioHost* host() { return host_; }

  std::vector<uint8_t> config{1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<std::pair<uint64_t, size_t>> config_writes;
  int activations = 0;
  int resets = 0;
  uint64_t activated_features = 0;
  std::vector<unsigned> notifies;
};

class VirtioMmioTest : public ::testing::Test {
 protected:
  VirtioMmioTest() {
    auto dev = std::make_unique<FakeDevice>();
    fake = dev.get();
    mmio = std::make_unique<VirtioMmio>(mem, IrqLine(&sink, 7), std::move(dev));
  }

  uint32_t rd(uint64_t off) {
    uint64_t v = 0xdeadbeef;
    EXPECT_TRUE(mmio->mmio_read(off, 4, v)) << std::hex << off;
    EXPECT_LE(v, 0xffffffffu);
    return static_cast<uint32_t>(v);
  }
  void wr(uint64_t off, uint32_t v) { EXPECT_TRUE(mmio->mmio_write(off, 4, v)) << std::hex << off; }

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

  // 3.1.1 steps 1-6; returns whether the device kept FEATURES_OK.
  bool negotiate(uint64_t features) {
    wr(kStatus, 0);
    wr(kStatus, kStatusAcknowledge);
    wr(kStatus, kStatusAcknowledge | kStatusDriver);
    wr(kDriverFeaturesSel, 0);
    wr(kDriverFeatures, static_cast<uint32_t>(features));
    wr(kDriverFeaturesSel, 1);
    wr(kDriverFeatures, static_cast<uint32_t>(features >> 32));
    wr(kStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
    return (rd(kStatus) & kStatusFeaturesOk) != 0;
  }
  void setup_queue(uint32_t q, uint32_t size = kQSize, uint64_t desc = kDesc,
                   uint64_t avail = kAvail, uint64_t used = kUsed) {
    wr(kQueueSel, q);
    wr(kQueueNum, size);
    wr(kQueueDescLow, static_cast<uint32_t>(desc));
    wr(kQueueDescHigh, static_cast<uint32_t>(desc >> 32));
    wr(kQueueDriverLow, static_cast<uint32_t>(avail));
    wr(kQueueDriverHigh, static_cast<uint32_t>(avail >> 32));
    wr(kQueueDeviceLow, static_cast<uint32_t>(used));
    wr(kQueueDeviceHigh, static_cast<uint32_t>(used >> 32));
    wr(kQueueReady, 1);
  }
  void driver_ok() {
    wr(kStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  }
  // A full bring-up of queue 0 with a size-8 ring.
  void bring_up(uint64_t features = kFVersion1) {
    ASSERT_TRUE(negotiate(features));
    setup_queue(0);
    driver_ok();
    ASSERT_TRUE(mmio->active());
  }
  // One writable descriptor `i` of `len` bytes, published as a request.
  void post(uint16_t i, uint32_t len, uint16_t head_override = 0xffff) {
    put(kDesc + 16 * uint64_t{i}, Descriptor{kData + 0x100 * uint64_t{i}, len, kDescWrite, 0});
    const uint16_t idx = get<uint16_t>(kAvail + 2);
    put<uint16_t>(kAvail + 4 + 2 * uint64_t(idx % kQSize),
                  head_override == 0xffff ? i : head_override);
    put<uint16_t>(kAvail + 2, idx + 1);
  }
  uint16_t used_idx() { return get<uint16_t>(kUsed + 2); }

  GuestMemory mem{kRam, kRamSize};
  LevelSink sink;
  FakeDevice* fake = nullptr;
  std::unique_ptr<VirtioMmio> mmio;
};

TEST_F(VirtioMmioTest, IdentityRegisters) {
  EXPECT_EQ(rd(kMagicValue), 0x74726976u);
  EXPECT_EQ(rd(kVersion), 2u);
  EXPECT_EQ(rd(kDeviceId), 42u);
  EXPECT_EQ(rd(kVendorId), VirtioMmio::kVendor);
  const uint64_t offered = FakeDevice::kFeatures | kFVersion1 | kFIndirectDesc | kFEventIdx;
  wr(kDeviceFeaturesSel, 0);
  EXPECT_EQ(rd(kDeviceFeatures), static_cast<uint32_t>(offered));
  wr(kDeviceFeaturesSel, 1);
  EXPECT_EQ(rd(kDeviceFeatures), static_cast<uint32_t>(offered >> 32));
  wr(kDeviceFeaturesSel, 2);
  EXPECT_EQ(rd(kDeviceFeatures), 0u);
  wr(kQueueSel, 0);
  EXPECT_EQ(rd(kQueueNumMax), 16u);
  wr(kQueueSel, 1);
  EXPECT_EQ(rd(kQueueNumMax), 8u);
  wr(kQueueSel, 2);  // no such queue
  EXPECT_EQ(rd(kQueueNumMax), 0u);
  EXPECT_EQ(rd(kQueueReady), 0u);
  EXPECT_EQ(rd(kShmLenLow), 0xffffffffu);  // no shared memory regions
  EXPECT_EQ(rd(kShmLenHigh), 0xffffffffu);
  EXPECT_EQ(rd(0x0f0), 0u);  // reserved
  EXPECT_EQ(rd(kStatus), 0u);
  EXPECT_EQ(rd(kInterruptStatus), 0u);
}

TEST_F(VirtioMmioTest, RegistersTakeOnlyAligned32BitAccesses) {
  uint64_t v = 0;
  EXPECT_FALSE(mmio->mmio_read(kMagicValue, 1, v));
  EXPECT_FALSE(mmio->mmio_read(kMagicValue, 2, v));
  EXPECT_FALSE(mmio->mmio_read(kMagicValue, 8, v));
  EXPECT_FALSE(mmio->mmio_read(kMagicValue + 2, 4, v));
  EXPECT_FALSE(mmio->mmio_write(kStatus, 1, 1));
  EXPECT_FALSE(mmio->mmio_write(kStatus, 8, 1));
  EXPECT_EQ(rd(kStatus), 0u);
  EXPECT_FALSE(mmio->mmio_read(kConfig, 3, v));
  EXPECT_FALSE(mmio->mmio_read(kConfig, 0, v));
}

TEST_F(VirtioMmioTest, ConfigSpaceAccesses) {
  uint64_t v = 0;
  ASSERT_TRUE(mmio->mmio_read(kConfig + 1, 1, v));
  EXPECT_EQ(v, 2u);
  ASSERT_TRUE(mmio->mmio_read(kConfig + 2, 2, v));
  EXPECT_EQ(v, 0x0403u);
  ASSERT_TRUE(mmio->mmio_read(kConfig + 4, 4, v));
  EXPECT_EQ(v, 0x08070605u);
  ASSERT_TRUE(mmio->mmio_read(kConfig, 8, v));
  EXPECT_EQ(v, 0x0807060504030201u);
  ASSERT_TRUE(mmio->mmio_read(kConfig + 8, 4, v));  // past the device's config
  EXPECT_EQ(v, 0u);
  ASSERT_TRUE(mmio->mmio_read(0x10000, 4, v));  // past the window
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(mmio->mmio_write(kConfig + 4, 2, 0xffff));
  ASSERT_EQ(fake->config_writes.size(), 1u);
  EXPECT_EQ(fake->config_writes[0], (std::pair<uint64_t, size_t>{4, 2}));
}

TEST_F(VirtioMmioTest, FeaturesOkRefusesBitsNotOffered) {
  EXPECT_FALSE(negotiate(kFVersion1 | (1ull << 1)));  // bit 1 not offered
  EXPECT_FALSE(negotiate(kFVersion1 | (1ull << 40)));
  EXPECT_TRUE(negotiate(kFVersion1 | (1ull << 5) | kFEventIdx));
  EXPECT_EQ(mmio->driver_features(), kFVersion1 | (1ull << 5) | kFEventIdx);
}

TEST_F(VirtioMmioTest, FeaturesOkRefusesLegacyDriver) {
  EXPECT_FALSE(negotiate(1ull << 0));  // no VERSION_1
  EXPECT_EQ(rd(kStatus), kStatusAcknowledge | kStatusDriver);
}

TEST_F(VirtioMmioTest, DriverFeaturesFixedAfterFeaturesOk) {
  ASSERT_TRUE(negotiate(kFVersion1));
  wr(kDriverFeaturesSel, 0);
  wr(kDriverFeatures, 1u << 1);  // sneak in a bit never offered
  EXPECT_EQ(mmio->driver_features(), kFVersion1);
  setup_queue(0);
  driver_ok();
  EXPECT_EQ(fake->activated_features, kFVersion1);
}

TEST_F(VirtioMmioTest, DriverOkWithoutFeaturesOkIsIgnored) {
  wr(kStatus, kStatusAcknowledge | kStatusDriver);
  wr(kStatus, kStatusAcknowledge | kStatusDriver | kStatusDriverOk);
  EXPECT_EQ(rd(kStatus) & kStatusDriverOk, 0u);
  EXPECT_EQ(fake->activations, 0);
  EXPECT_FALSE(mmio->active());
}

TEST_F(VirtioMmioTest, DriverOkActivatesOnce) {
  bring_up(kFVersion1 | kFIndirectDesc);
  EXPECT_EQ(fake->activations, 1);
  EXPECT_EQ(fake->activated_features, kFVersion1 | kFIndirectDesc);
  driver_ok();  // written again
  EXPECT_EQ(fake->activations, 1);
}

TEST_F(VirtioMmioTest, StatusBitsCannotBeCleared) {
  bring_up();
  wr(kStatus, kStatusAcknowledge | kStatusDriver);  // drops FEATURES_OK | DRIVER_OK
  EXPECT_EQ(rd(kStatus), kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  wr(kStatus, rd(kStatus) | kStatusNeedsReset);  // the device's bit
  EXPECT_EQ(rd(kStatus) & kStatusNeedsReset, 0u);
}

TEST_F(VirtioMmioTest, QueueSetupIsReadBack) {
  ASSERT_TRUE(negotiate(kFVersion1));
  setup_queue(0, 8, kDesc, kAvail, kUsed);
  EXPECT_EQ(rd(kQueueReady), 1u);
  EXPECT_EQ(rd(kQueueDescLow), static_cast<uint32_t>(kDesc));
  EXPECT_EQ(rd(kQueueDriverLow), static_cast<uint32_t>(kAvail));
  EXPECT_EQ(rd(kQueueDeviceLow), static_cast<uint32_t>(kUsed));
  EXPECT_TRUE(fake->host()->queue(0).ready());
  EXPECT_EQ(fake->host()->queue(0).size(), 8);
  // Disabling before DRIVER_OK is allowed, and lets the driver redo it.
  wr(kQueueReady, 0);
  EXPECT_EQ(rd(kQueueReady), 0u);
  setup_queue(0, 4, kDesc, kAvail, kUsed);
  EXPECT_EQ(fake->host()->queue(0).size(), 4);
}

TEST_F(VirtioMmioTest, QueueRegistersIgnoredAfterDriverOk) {
  bring_up();
  Virtqueue& q = fake->host()->queue(0);
  // A hostile driver re-aims the live queue at new rings and a new size.
  setup_queue(0, 2, kRam + 0x8000, kRam + 0x9000, kRam + 0xa000);
  wr(kQueueReady, 0);
  EXPECT_TRUE(q.ready());
  EXPECT_EQ(q.size(), kQSize);
  EXPECT_EQ(q.desc_addr(), kDesc);
  EXPECT_EQ(q.avail_addr(), kAvail);
  EXPECT_EQ(q.used_addr(), kUsed);
  // Queue 1 was never made ready; it cannot be brought up after DRIVER_OK.
  setup_queue(1);
  EXPECT_FALSE(fake->host()->queue(1).ready());
  EXPECT_EQ(rd(kStatus) & kStatusNeedsReset, 0u);
}

TEST_F(VirtioMmioTest, LiveQueueRegistersIgnoredBeforeDriverOk) {
  ASSERT_TRUE(negotiate(kFVersion1));
  setup_queue(0);
  wr(kQueueNum, 2);
  wr(kQueueDescLow, static_cast<uint32_t>(kRam + 0x8000));
  Virtqueue& q = fake->host()->queue(0);
  EXPECT_EQ(q.size(), kQSize);
  EXPECT_EQ(q.desc_addr(), kDesc);
}

TEST_F(VirtioMmioTest, InvalidQueueSetupNeedsReset) {
  ASSERT_TRUE(negotiate(kFVersion1));
  setup_queue(0, 6);  // not a power of two
  EXPECT_EQ(rd(kQueueReady), 0u);
  EXPECT_NE(rd(kStatus) & kStatusNeedsReset, 0u);
  EXPECT_FALSE(sink.level);  // no interrupt before DRIVER_OK...
  driver_ok();
  EXPECT_TRUE(sink.level);  // ...then the config change notification
  EXPECT_EQ(rd(kInterruptStatus), kIntConfigChange);
}

TEST_F(VirtioMmioTest, QueueNumAbove16BitsIsRefused) {
  ASSERT_TRUE(negotiate(kFVersion1));
  setup_queue(0, 0x10008);
  EXPECT_EQ(rd(kQueueReady), 0u);
}

TEST_F(VirtioMmioTest, UsedBufferInterruptAndAck) {
  bring_up();
  post(0, 16);
  wr(kQueueNotify, 0);
  EXPECT_EQ(fake->notifies, (std::vector<unsigned>{0}));
  EXPECT_EQ(used_idx(), 1);
  EXPECT_EQ(get<uint32_t>(kUsed + 8), 16u);
  EXPECT_TRUE(sink.level);
  EXPECT_EQ(rd(kInterruptStatus), kIntUsedBuffer);
  wr(kInterruptAck, kIntUsedBuffer);
  EXPECT_FALSE(sink.level);
  EXPECT_EQ(rd(kInterruptStatus), 0u);
}

TEST_F(VirtioMmioTest, NoInterruptFlagHonoured) {
  bring_up();
  put<uint16_t>(kAvail, 1);  // VIRTQ_AVAIL_F_NO_INTERRUPT
  post(0, 16);
  wr(kQueueNotify, 0);
  EXPECT_EQ(used_idx(), 1);
  EXPECT_FALSE(sink.level);
}

TEST_F(VirtioMmioTest, EventIdxSuppressesInterrupts) {
  bring_up(kFVersion1 | kFEventIdx);
  put<uint16_t>(kAvail + 4 + 2 * kQSize, 1);  // used_event: interrupt after entry 1
  post(0, 16);
  wr(kQueueNotify, 0);
  EXPECT_TRUE(sink.level);  // the first decision always interrupts
  wr(kInterruptAck, kIntUsedBuffer);
  post(1, 16);
  wr(kQueueNotify, 0);
  EXPECT_TRUE(sink.level);  // used idx 1 -> 2 crosses used_event 1
  wr(kInterruptAck, kIntUsedBuffer);
  post(2, 16);
  wr(kQueueNotify, 0);
  EXPECT_EQ(used_idx(), 3);
  EXPECT_FALSE(sink.level);                             // already past used_event
  EXPECT_EQ(get<uint16_t>(kUsed + 4 + 8 * kQSize), 3);  // avail_event
}

TEST_F(VirtioMmioTest, NotifyIgnoredUnlessQueueLive) {
  ASSERT_TRUE(negotiate(kFVersion1));
  setup_queue(0);
  post(0, 16);
  wr(kQueueNotify, 0);  // before DRIVER_OK
  EXPECT_TRUE(fake->notifies.empty());
  driver_ok();
  wr(kQueueNotify, 1);  // exists, never made ready
  wr(kQueueNotify, 2);  // does not exist
  wr(kQueueNotify, 0xffffffff);
  EXPECT_TRUE(fake->notifies.empty());
  EXPECT_EQ(rd(kStatus) & kStatusNeedsReset, 0u);
  wr(kQueueNotify, 0);
  EXPECT_EQ(fake->notifies, (std::vector<unsigned>{0}));
}

TEST_F(VirtioMmioTest, BrokenRingNeedsResetAndRaisesConfigInterrupt) {
  bring_up();
  post(0, 16, /*head_override=*/kQSize);  // head index out of range
  wr(kQueueNotify, 0);
  EXPECT_EQ(used_idx(), 0);
  EXPECT_NE(rd(kStatus) & kStatusNeedsReset, 0u);
  EXPECT_EQ(rd(kInterruptStatus), kIntConfigChange);
  EXPECT_TRUE(sink.level);
  // Further notifies of the broken queue reach nothing.
  wr(kQueueNotify, 0);
  EXPECT_EQ(fake->notifies.size(), 1u);
}

TEST_F(VirtioMmioTest, DeviceErrorNeedsReset) {
  bring_up();
  fake->host()->device_error("test failure");
  EXPECT_NE(rd(kStatus) & kStatusNeedsReset, 0u);
  EXPECT_TRUE(sink.level);
}

TEST_F(VirtioMmioTest, ConfigChangeBumpsGenerationAndInterrupts) {
  const uint32_t gen = rd(kConfigGeneration);
  fake->host()->config_changed();
  EXPECT_NE(rd(kConfigGeneration), gen);
  EXPECT_FALSE(sink.level);  // driver not ready for interrupts yet
  bring_up();
  fake->host()->config_changed();
  EXPECT_EQ(rd(kInterruptStatus), kIntConfigChange);
  EXPECT_TRUE(sink.level);
}

TEST_F(VirtioMmioTest, ResetClearsEverythingAndRequestsAfterResetAreIgnored) {
  bring_up();
  post(0, 16);
  wr(kQueueNotify, 0);
  ASSERT_TRUE(sink.level);
  fake->host()->device_error("x");
  const int resets = fake->resets;  // negotiate() began with a reset too
  wr(kStatus, 0);
  EXPECT_EQ(fake->resets, resets + 1);
  EXPECT_EQ(rd(kStatus), 0u);
  EXPECT_EQ(rd(kInterruptStatus), 0u);
  EXPECT_FALSE(sink.level);
  EXPECT_EQ(rd(kQueueReady), 0u);
  EXPECT_FALSE(fake->host()->queue(0).ready());
  EXPECT_EQ(mmio->driver_features(), 0u);
  EXPECT_FALSE(mmio->active());
  post(1, 16);
  wr(kQueueNotify, 0);
  EXPECT_EQ(fake->notifies.size(), 1u);
  EXPECT_EQ(used_idx(), 1);

  // The driver starts over with fresh rings.
  put<uint16_t>(kAvail + 2, 0);
  put<uint16_t>(kUsed + 2, 0);
  bring_up();
  EXPECT_EQ(fake->activations, 2);
  post(2, 16);
  wr(kQueueNotify, 0);
  EXPECT_EQ(used_idx(), 1);
  EXPECT_TRUE(sink.level);
}

TEST_F(VirtioMmioTest, HostQueueOutOfRangeIsNeverReady) {
  Virtqueue& q = fake->host()->queue(7);
  EXPECT_FALSE(q.ready());
  EXPECT_FALSE(q.pop());
  fake->host()->notify_used(7);
  EXPECT_FALSE(sink.level);
}

}  // namespace
}  // namespace vessel::virtio
