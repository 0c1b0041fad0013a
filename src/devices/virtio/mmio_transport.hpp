// The virtio-mmio transport, version 2 (virtio 1.2 spec 4.2 "Virtio Over
// MMIO"): the register window a driver programs, feature negotiation, the
// device status state machine (2.1), interrupts, and the Virtqueue objects a
// VirtioDevice works on.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/log.hpp"
#include "devices/bus.hpp"
#include "devices/irq.hpp"
#include "devices/virtio/virtio_device.hpp"
#include "devices/virtio/virtqueue.hpp"

namespace vessel::virtio {

// 2.1 Device Status Field.
inline constexpr uint32_t kStatusAcknowledge = 1, kStatusDriver = 2, kStatusDriverOk = 4,
                          kStatusFeaturesOk = 8, kStatusNeedsReset = 0x40, kStatusFailed = 0x80;

// 4.2.2 MMIO Device Register Layout (offsets in the window).
namespace mmio {
inline constexpr uint64_t kMagicValue = 0x000, kVersion = 0x004, kDeviceId = 0x008,
                          kVendorId = 0x00c, kDeviceFeatures = 0x010, kDeviceFeaturesSel = 0x014,
                          kDriverFeatures = 0x020, kDriverFeaturesSel = 0x024, kQueueSel = 0x030,
                          kQueueNumMax = 0x034, kQueueNum = 0x038, kQueueReady = 0x044,
                          kQueueNotify = 0x050, kInterruptStatus = 0x060, kInterruptAck = 0x064,
                          kStatus = 0x070, kQueueDescLow = 0x080, kQueueDescHigh = 0x084,
                          kQueueDriverLow = 0x090, kQueueDriverHigh = 0x094,
                          kQueueDeviceLow = 0x0a0, kQueueDeviceHigh = 0x0a4, kShmSel = 0x0ac,
                          kShmLenLow = 0x0b0, kShmLenHigh = 0x0b4, kShmBaseLow = 0x0b8,
                          kShmBaseHigh = 0x0bc, kQueueReset = 0x0c0, kConfigGeneration = 0x0fc,
                          kConfig = 0x100;
inline constexpr uint32_t kMagic = 0x74726976;  // "virt", little-endian
inline constexpr uint32_t kVersion2 = 2;        // non-legacy
// InterruptStatus bits (4.2.2).
inline constexpr uint32_t kIntUsedBuffer = 1, kIntConfigChange = 2;
}  // namespace mmio

class VirtioMmio final : public MmioDevice, public VirtioHost {
 public:
  // The window the machine maps per device (QEMU virt: 0x200 every 0x1000).
  static constexpr uint64_t kWindowSize = 0x200;
  // vessel's own vendor ID: "vess" in the little-endian byte order that
  // MagicValue ("virt") and QEMU's "QEMU" use. Drivers match on the device
  // ID only; claiming QEMU's ID would invite QEMU-specific quirks.
  static constexpr uint32_t kVendor = 0x73736576;
  // Features every device gets from the transport.
  static constexpr uint64_t kTransportFeatures = kFVersion1 | kFIndirectDesc | kFEventIdx;

  // Attaches `device` to this transport; its queues are created here with
  // the device's queue_max_size().
  VirtioMmio(GuestMemory& memory, IrqLine irq, std::unique_ptr<VirtioDevice> device);
  ~VirtioMmio() override;

  // MmioDevice: the guest's register accesses. Registers (below 0x100) take
  // aligned 32-bit accesses only; config space takes 1, 2, 4 and 8 bytes.
  bool mmio_read(uint64_t offset, unsigned size, uint64_t& value) override;
  bool mmio_write(uint64_t offset, unsigned size, uint64_t value) override;

  // VirtioHost: what the device asks of its transport.
  GuestMemory& memory() override { return memory_; }
  // Out-of-range indexes get a queue that is never ready.
  Virtqueue& queue(unsigned index) override;
  void notify_used(unsigned queue) override;
  void config_changed() override;
  void device_error(const char* what) override;

  // The VM resets: like the driver writing 0 to Status.
  void reset();

  // ---- state (snapshot, migration) ----
  // Registers, every queue, then the device's own state (with its device ID
  // and state version, so a blob for another device is refused). Saving
  // requires !busy(): call quiesce() first, with the guest stopped.
  // load_state runs on a fresh transport and device of the same
  // configuration, after guest memory was restored, in place of the driver's
  // probe: an active device is activated with the saved features, and the
  // interrupt line is driven from the restored InterruptStatus. Everything
  // read is checked; a bad blob throws state::StateError, and the transport
  // must then be discarded.
  static constexpr uint32_t kStateVersion = 1;
  void save_state(state::Writer& w) const;
  void load_state(state::Reader& r);
  bool busy() const { return device_->busy(); }
  void quiesce() { device_->quiesce(); }

  VirtioDevice& device() { return *device_; }
  uint32_t status() const { return status_; }
  uint32_t interrupt_status() const { return isr_; }
  bool irq_level() const { return irq_level_; }
  bool active() const { return (status_ & kStatusDriverOk) != 0 && activated_; }
  uint64_t offered_features() const { return offered_; }
  uint64_t driver_features() const { return driver_features_; }

 private:
  uint32_t read_register(uint64_t offset);
  void write_register(uint64_t offset, uint32_t value);
  void write_status(uint32_t value);
  // The selected queue if its registers may be written now, else nullptr
  // (and a rate-limited log line).
  Virtqueue* writable_queue(const char* reg);
  Virtqueue* selected_queue();
  void set_queue_addr(uint64_t offset, uint32_t value);
  void needs_reset(const char* what);
  void set_isr(uint32_t bits);
  void update_irq();

  GuestMemory& memory_;
  IrqLine irq_;
  std::unique_ptr<VirtioDevice> device_;
  std::vector<std::unique_ptr<Virtqueue>> queues_;
  Virtqueue absent_queue_;  // handed out for indexes past num_queues()

  uint64_t offered_ = 0;
  uint64_t driver_features_ = 0;
  uint32_t device_features_sel_ = 0;
  uint32_t driver_features_sel_ = 0;
  uint32_t queue_sel_ = 0;
  uint32_t status_ = 0;
  uint32_t isr_ = 0;
  uint32_t config_generation_ = 0;
  bool activated_ = false;
  bool irq_level_ = false;
  RateLimit log_limit_;
};

}  // namespace vessel::virtio
