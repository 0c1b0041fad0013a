// Shared by the virtio device unit tests (test_virtio_rng, test_virtio_console,
// test_virtio_balloon, test_virtio_state): a fake guest driver that programs
// the virtio-mmio transport's registers and builds split virtqueues in guest
// memory, as Linux's virtio_mmio and virtio_ring do, plus an IRQ sink that
// remembers the line's level and save/load helpers for state blobs.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "base/state.hpp"
#include "devices/virtio/mmio_transport.hpp"
#include "devices/virtio/virtqueue.hpp"
#include "memory/guest_memory.hpp"

namespace vessel::virtio::test {

// An interrupt controller that only remembers the level of the line.
struct LevelSink : IrqSink {
  void set_irq(uint32_t, bool on) override { level = on; }
  bool level = false;
};

// One buffer of a descriptor chain.
struct Buf {
  uint64_t gpa;
  uint32_t len;
  bool write;  // device-writable
};

// A virtio-mmio driver over the guest memory of the transport it is bound to.
// Queue q's descriptor table is at ring_base + ring_stride * q, its avail ring
// 0x1000 and its used ring 0x2000 after that. It keeps only what a real driver
// keeps in its own memory (next free descriptor, used entries consumed), so it
// carries on unchanged against a restored transport.
class MmioDriver {
 public:
  static constexpr unsigned kMaxQueues = 8;

  MmioDriver(uint16_t qsize, uint64_t ring_base, uint64_t ring_stride = 0x4000)
      : qsize_(qsize), ring_base_(ring_base), ring_stride_(ring_stride) {}

  void bind(VirtioMmio& m) { mmio_ = &m; }

  uint64_t desc_ring(unsigned q) const { return ring_base_ + ring_stride_ * q; }
  uint64_t avail_ring(unsigned q) const { return desc_ring(q) + 0x1000; }
  uint64_t used_ring(unsigned q) const { return desc_ring(q) + 0x2000; }

  // ---- Registers and guest memory ----
  uint32_t rd(uint64_t off, unsigned size = 4) {
    uint64_t v = 0;
    EXPECT_TRUE(mmio_->mmio_read(off, size, v));
    return static_cast<uint32_t>(v);
  }
  void wr(uint64_t off, uint32_t v, unsigned size = 4) {
    EXPECT_TRUE(mmio_->mmio_write(off, size, v));
  }
  template <typename T>
  void put(uint64_t gpa, T v) {
    ASSERT_TRUE(mmio_->memory().write(gpa, {reinterpret_cast<const uint8_t*>(&v), sizeof v}));
  }
  template <typename T>
  T get(uint64_t gpa) {
    T v{};
    EXPECT_TRUE(mmio_->memory().read(gpa, {reinterpret_cast<uint8_t*>(&v), sizeof v}));
    return v;
  }
  std::vector<uint8_t> bytes(uint64_t gpa, size_t n) {
    std::vector<uint8_t> v(n);
    EXPECT_TRUE(mmio_->memory().read(gpa, v));
    return v;
  }

  // ---- 3.1.1 Device initialization, step by step ----
  // The 64 feature bits the device offers.
  uint64_t device_features() {
    wr(mmio::kDeviceFeaturesSel, 1);
    const uint64_t hi = rd(mmio::kDeviceFeatures);
    wr(mmio::kDeviceFeaturesSel, 0);
    return hi << 32 | rd(mmio::kDeviceFeatures);
  }
  // Writes the accepted features and sets FEATURES_OK, which must stick.
  void negotiate(uint64_t accept) {
    using namespace mmio;
    wr(kDriverFeaturesSel, 0);
    wr(kDriverFeatures, static_cast<uint32_t>(accept));
    wr(kDriverFeaturesSel, 1);
    wr(kDriverFeatures, static_cast<uint32_t>(accept >> 32));
    wr(kStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
    ASSERT_NE(rd(kStatus) & kStatusFeaturesOk, 0u);
  }
  // Programs queue q with qsize entries at its rings and enables it.
  void setup_queue(unsigned q) {
    using namespace mmio;
    next_desc_.at(q) = 0;
    used_seen_.at(q) = 0;
    wr(kQueueSel, q);
    ASSERT_GE(rd(kQueueNumMax), qsize_);
    wr(kQueueNum, qsize_);
    wr(kQueueDescLow, static_cast<uint32_t>(desc_ring(q)));
    wr(kQueueDescHigh, static_cast<uint32_t>(desc_ring(q) >> 32));
    wr(kQueueDriverLow, static_cast<uint32_t>(avail_ring(q)));
    wr(kQueueDriverHigh, static_cast<uint32_t>(avail_ring(q) >> 32));
    wr(kQueueDeviceLow, static_cast<uint32_t>(used_ring(q)));
    wr(kQueueDeviceHigh, static_cast<uint32_t>(used_ring(q) >> 32));
    wr(kQueueReady, 1);
    ASSERT_EQ(rd(kQueueReady), 1u);
  }
  void driver_ok() {
    using namespace mmio;
    wr(kStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  }
  // The whole of it: accepts `want` (and VERSION_1) of what is offered and sets
  // up every queue the device has.
  void probe(uint64_t want, bool driver_ok = true) {
    using namespace mmio;
    wr(kStatus, 0);
    wr(kStatus, kStatusAcknowledge);
    wr(kStatus, kStatusAcknowledge | kStatusDriver);
    negotiate(device_features() & (want | kFVersion1));
    const unsigned queues = mmio_->device().num_queues();
    for (unsigned q = 0; q < queues; ++q) setup_queue(q);
    if (driver_ok) this->driver_ok();
  }

  // ---- Available ring ----
  void put_desc(unsigned q, uint16_t i, const Descriptor& d) {
    put(desc_ring(q) + 16 * uint64_t{i}, d);
  }
  void publish(unsigned q, uint16_t head) {
    const auto idx = get<uint16_t>(avail_ring(q) + 2);
    put<uint16_t>(avail_ring(q) + 4 + 2 * uint64_t(idx % qsize_), head);
    put<uint16_t>(avail_ring(q) + 2, static_cast<uint16_t>(idx + 1));
  }
  // Writes a chain into the next free descriptors and publishes it (no
  // notify); returns its head.
  uint16_t post(unsigned q, const std::vector<Buf>& bufs) {
    const uint16_t head = next_desc_.at(q);
    for (size_t i = 0; i < bufs.size(); ++i) {
      const uint16_t idx = next_desc_[q];
      next_desc_[q] = static_cast<uint16_t>((idx + 1) % qsize_);
      const bool last = i + 1 == bufs.size();
      put_desc(q, idx,
               Descriptor{
                   bufs[i].gpa, bufs[i].len,
                   static_cast<uint16_t>((bufs[i].write ? kDescWrite : 0) | (last ? 0 : kDescNext)),
                   last ? uint16_t{0} : next_desc_[q]});
    }
    publish(q, head);
    return head;
  }
  void notify(unsigned q) { wr(mmio::kQueueNotify, q); }
  // EVENT_IDX: interrupt me once the used index passes `idx`.
  void set_used_event(unsigned q, uint16_t idx) {
    put(avail_ring(q) + 4 + 2 * uint64_t{qsize_}, idx);
  }

  // ---- Used ring ----
  uint16_t used_idx(unsigned q) { return get<uint16_t>(used_ring(q) + 2); }
  uint32_t used_id(unsigned q, uint16_t i) {
    return get<uint32_t>(used_ring(q) + 4 + 8 * uint64_t(i % qsize_));
  }
  uint32_t used_len(unsigned q, uint16_t i) {
    return get<uint32_t>(used_ring(q) + 8 + 8 * uint64_t(i % qsize_));
  }
  uint16_t unseen(unsigned q) { return static_cast<uint16_t>(used_idx(q) - used_seen_.at(q)); }
  // The next used element not consumed yet (id, len).
  std::pair<uint32_t, uint32_t> next_used(unsigned q) {
    const uint16_t i = used_seen_.at(q)++;
    return {used_id(q, i), used_len(q, i)};
  }

 private:
  VirtioMmio* mmio_ = nullptr;
  uint16_t qsize_;
  uint64_t ring_base_;
  uint64_t ring_stride_;
  std::array<uint16_t, kMaxQueues> next_desc_{};
  std::array<uint16_t, kMaxQueues> used_seen_{};
};

// A device's or transport's saved state, and loading it back (the whole blob
// must be consumed).
template <typename T>
std::vector<uint8_t> save(const T& saver) {
  state::Writer w;
  saver.save_state(w);
  return w.take();
}
template <typename T>
void load(T& loader, const std::vector<uint8_t>& blob, const char* name) {
  state::Reader r(blob, name);
  loader.load_state(r);
  r.expect_end();
}

}  // namespace vessel::virtio::test
