#include "devices/virtio/mmio_transport.hpp"

#include <cstring>
#include <string>

#include "base/error.hpp"

namespace vessel::virtio {

using namespace mmio;

VirtioMmio::VirtioMmio(GuestMemory& memory, IrqLine irq, std::unique_ptr<VirtioDevice> device)
    : memory_(memory),
      irq_(irq),
      device_(std::move(device)),
      absent_queue_(memory, 0),
      offered_(device_->device_features() | kTransportFeatures) {
  const unsigned n = device_->num_queues();
  queues_.reserve(n);
  for (unsigned i = 0; i < n; ++i) {
    auto q = std::make_unique<Virtqueue>(memory_, device_->queue_max_size(i));
    // A malformed ring breaks the device, not the process (whoever popped).
    q->set_on_broken([this](const char* why) { needs_reset(why); });
    queues_.push_back(std::move(q));
  }
  device_->attach(*this);
}

VirtioMmio::~VirtioMmio() = default;

Virtqueue& VirtioMmio::queue(unsigned index) {
  return index < queues_.size() ? *queues_[index] : absent_queue_;
}

Virtqueue* VirtioMmio::selected_queue() {
  return queue_sel_ < queues_.size() ? queues_[queue_sel_].get() : nullptr;
}

// ---- interrupts (4.2.2 InterruptStatus / InterruptACK) ----

void VirtioMmio::update_irq() {
  const bool level = isr_ != 0;
  if (level == irq_level_) return;
  irq_level_ = level;
  irq_.set(level);
}

void VirtioMmio::set_isr(uint32_t bits) {
  isr_ |= bits;
  update_irq();
}

void VirtioMmio::notify_used(unsigned q) {
  if (q >= queues_.size() || !active()) return;
  if (queues_[q]->should_notify()) set_isr(kIntUsedBuffer);
}

void VirtioMmio::config_changed() {
  ++config_generation_;
  if ((status_ & kStatusDriverOk) != 0) set_isr(kIntConfigChange);
}

void VirtioMmio::device_error(const char* what) {
  needs_reset(what);
}

// 2.1.2: the device sets DEVICE_NEEDS_RESET and, once DRIVER_OK is set,
// sends a configuration change notification.
void VirtioMmio::needs_reset(const char* what) {
  if (log_limit_.allow()) {
    spdlog::warn("virtio-mmio device {}: {}; device needs reset", device_->device_id(), what);
  }
  if ((status_ & kStatusNeedsReset) != 0) return;
  status_ |= kStatusNeedsReset;
  if ((status_ & kStatusDriverOk) != 0) set_isr(kIntConfigChange);
}

// ---- reset ----

void VirtioMmio::reset() {
  device_->reset();  // first: nothing in flight may touch the rings afterwards
  for (auto& q : queues_) q->reset();
  driver_features_ = 0;
  device_features_sel_ = 0;
  driver_features_sel_ = 0;
  queue_sel_ = 0;
  status_ = 0;
  isr_ = 0;
  activated_ = false;
  update_irq();
}

// ---- register access ----

bool VirtioMmio::mmio_read(uint64_t offset, unsigned size, uint64_t& value) {
  value = 0;
  if (offset >= kConfig) {
    // Device configuration space: 1, 2, 4 and 8 bytes (an 8-byte access is
    // the same as two 4-byte ones, 4.2.2.2). Past the window reads as zero.
    if (size != 1 && size != 2 && size != 4 && size != 8) return false;
    if (offset >= kWindowSize || size > kWindowSize - offset) return true;
    uint8_t buf[8] = {};
    device_->read_config(offset - kConfig, {buf, size});
    std::memcpy(&value, buf, size);
    return true;
  }
  // 4.2.2.2: control registers take aligned 32-bit accesses only.
  if (size != 4 || offset % 4 != 0) return false;
  value = read_register(offset);
  return true;
}

bool VirtioMmio::mmio_write(uint64_t offset, unsigned size, uint64_t value) {
  if (offset >= kConfig) {
    if (size != 1 && size != 2 && size != 4 && size != 8) return false;
    if (offset >= kWindowSize || size > kWindowSize - offset) return true;
    uint8_t buf[8];
    std::memcpy(buf, &value, sizeof buf);
    device_->write_config(offset - kConfig, {buf, size});
    return true;
  }
  if (size != 4 || offset % 4 != 0) return false;
  write_register(offset, static_cast<uint32_t>(value));
  return true;
}

uint32_t VirtioMmio::read_register(uint64_t offset) {
  Virtqueue* q = selected_queue();
  switch (offset) {
    case kMagicValue: return kMagic;
    case kVersion: return kVersion2;
    case kDeviceId: return device_->device_id();
    case kVendorId: return kVendor;
    case kDeviceFeatures:
      return device_features_sel_ < 2
                 ? static_cast<uint32_t>(offered_ >> (32 * device_features_sel_))
                 : 0;
    case kQueueNumMax: return q != nullptr ? q->max_size() : 0;
    case kQueueNum: return q != nullptr ? q->size() : 0;
    case kQueueReady: return q != nullptr && q->ready() ? 1 : 0;
    case kInterruptStatus: return isr_;
    case kStatus: return status_;
    case kQueueDescLow: return q != nullptr ? static_cast<uint32_t>(q->desc_addr()) : 0;
    case kQueueDescHigh: return q != nullptr ? static_cast<uint32_t>(q->desc_addr() >> 32) : 0;
    case kQueueDriverLow: return q != nullptr ? static_cast<uint32_t>(q->avail_addr()) : 0;
    case kQueueDriverHigh: return q != nullptr ? static_cast<uint32_t>(q->avail_addr() >> 32) : 0;
    case kQueueDeviceLow: return q != nullptr ? static_cast<uint32_t>(q->used_addr()) : 0;
    case kQueueDeviceHigh: return q != nullptr ? static_cast<uint32_t>(q->used_addr() >> 32) : 0;
    // No shared memory regions: "a length of -1 for a non-existent region".
    case kShmLenLow:
    case kShmLenHigh:
    case kShmBaseLow:
    case kShmBaseHigh: return 0xffffffff;
    case kConfigGeneration: return config_generation_;
    default: return 0;  // write-only and reserved registers
  }
}

Virtqueue* VirtioMmio::writable_queue(const char* reg) {
  Virtqueue* q = selected_queue();
  if (q == nullptr) return nullptr;  // no such queue: nothing to configure
  // Rewriting a live queue's configuration is how a guest would steer the
  // device to unchecked rings; only a queue not yet ready, before DRIVER_OK,
  // may be configured (4.2.3.2).
  if (q->ready() || (status_ & kStatusDriverOk) != 0) {
    if (log_limit_.allow()) {
      spdlog::warn("virtio-mmio device {}: {} of live queue {} ignored", device_->device_id(), reg,
                   queue_sel_);
    }
    return nullptr;
  }
  return q;
}

void VirtioMmio::set_queue_addr(uint64_t offset, uint32_t value) {
  Virtqueue* q = writable_queue("queue address write");
  if (q == nullptr) return;
  auto merge = [&](uint64_t old) {
    return (offset & 4) != 0 ? (old & 0xffffffffull) | (uint64_t{value} << 32)
                             : (old & ~0xffffffffull) | value;
  };
  if (offset == kQueueDescLow || offset == kQueueDescHigh) q->set_desc_addr(merge(q->desc_addr()));
  if (offset == kQueueDriverLow || offset == kQueueDriverHigh) {
    q->set_avail_addr(merge(q->avail_addr()));
  }
  if (offset == kQueueDeviceLow || offset == kQueueDeviceHigh) {
    q->set_used_addr(merge(q->used_addr()));
  }
}

void VirtioMmio::write_register(uint64_t offset, uint32_t value) {
  switch (offset) {
    case kDeviceFeaturesSel: device_features_sel_ = value; break;
    case kDriverFeaturesSel: driver_features_sel_ = value; break;
    case kDriverFeatures:
      // 3.1.1: features are written before FEATURES_OK and fixed after it.
      if ((status_ & (kStatusFeaturesOk | kStatusDriverOk)) != 0) {
        if (log_limit_.allow()) {
          spdlog::warn("virtio-mmio device {}: DriverFeatures after FEATURES_OK ignored",
                       device_->device_id());
        }
        break;
      }
      if (driver_features_sel_ == 0) {
        driver_features_ = (driver_features_ & ~0xffffffffull) | value;
      } else if (driver_features_sel_ == 1) {
        driver_features_ = (driver_features_ & 0xffffffffull) | (uint64_t{value} << 32);
      }
      break;
    case kQueueSel: queue_sel_ = value; break;
    case kQueueNum:
      if (Virtqueue* q = writable_queue("QueueNum")) {
        // Out-of-range sizes become 0, which enable() refuses.
        q->set_size(value <= 0xffff ? static_cast<uint16_t>(value) : 0);
      }
      break;
    case kQueueReady: {
      Virtqueue* q = selected_queue();
      if (q == nullptr) break;
      if (value == 0) {
        // Disabling a queue during setup is allowed (Linux's vm_del_vq reads
        // QueueReady back as 0); after DRIVER_OK only a reset does it.
        if ((status_ & kStatusDriverOk) == 0) {
          if (q->ready()) q->reset();
        } else if (log_limit_.allow()) {
          spdlog::warn("virtio-mmio device {}: QueueReady=0 after DRIVER_OK ignored",
                       device_->device_id());
        }
        break;
      }
      q = writable_queue("QueueReady");
      if (q == nullptr) break;
      q->set_event_idx((driver_features_ & kFEventIdx) != 0);
      q->set_indirect((driver_features_ & kFIndirectDesc) != 0);
      if (!q->enable()) needs_reset("queue size or ring addresses invalid");
      break;
    }
    case kQueueDescLow:
    case kQueueDescHigh:
    case kQueueDriverLow:
    case kQueueDriverHigh:
    case kQueueDeviceLow:
    case kQueueDeviceHigh: set_queue_addr(offset, value); break;
    case kQueueNotify: {
      // Without VIRTIO_F_NOTIFICATION_DATA the value is the queue index.
      if (!active() || value >= queues_.size()) break;
      Virtqueue& q = *queues_[value];
      if (!q.ready() || q.broken()) break;
      device_->queue_notify(value);
      break;
    }
    case kInterruptAck:
      isr_ &= ~value;
      update_irq();
      break;
    case kStatus: write_status(value); break;
    default: break;  // read-only, reserved, SHMSel, QueueReset (not offered)
  }
}

// 2.1 Device Status Field; 3.1.1 Driver Requirements: Device Initialization.
void VirtioMmio::write_status(uint32_t value) {
  if (value == 0) {
    reset();
    return;
  }
  value &= ~kStatusNeedsReset;  // the device's bit, not the driver's
  const uint32_t old = status_ & ~kStatusNeedsReset;
  if ((value & old) != old) {
    if (log_limit_.allow()) {
      spdlog::warn("virtio-mmio device {}: status {:#x} -> {:#x} clears bits; ignored",
                   device_->device_id(), old, value);
    }
    return;
  }
  const uint32_t added = value & ~old;
  if ((added & kStatusFeaturesOk) != 0) {
    const uint64_t unknown = driver_features_ & ~offered_;
    if (unknown != 0 || (driver_features_ & kFVersion1) == 0) {
      if (log_limit_.allow()) {
        spdlog::warn(
            "virtio-mmio device {}: FEATURES_OK refused (features {:#x}, not offered {:#x}, "
            "VERSION_1 {})",
            device_->device_id(), driver_features_, unknown, (driver_features_ & kFVersion1) != 0);
      }
      value &= ~kStatusFeaturesOk;
    }
  }
  if ((added & kStatusDriverOk) != 0 && (value & kStatusFeaturesOk) == 0) {
    if (log_limit_.allow()) {
      spdlog::warn("virtio-mmio device {}: DRIVER_OK without FEATURES_OK ignored",
                   device_->device_id());
    }
    value &= ~kStatusDriverOk;
  }
  status_ = value | (status_ & kStatusNeedsReset);

  if ((value & kStatusDriverOk) != 0 && !activated_) {
    for (auto& q : queues_) {
      q->set_event_idx((driver_features_ & kFEventIdx) != 0);
      q->set_indirect((driver_features_ & kFIndirectDesc) != 0);
    }
    activated_ = true;
    device_->activate(driver_features_);
    // A fault noticed during setup is reported now that the driver listens.
    if ((status_ & kStatusNeedsReset) != 0) set_isr(kIntConfigChange);
  }
}

// ---- state ----

void VirtioMmio::save_state(state::Writer& w) const {
  // A request still running on the host would be lost: it was popped from
  // the ring but its used entry is not written yet.
  if (device_->busy()) {
    fail("virtio device {}: state saved while requests are in flight (quiesce first)",
         device_->device_id());
  }
  w.u32(device_->device_id());
  w.u32(static_cast<uint32_t>(queues_.size()));
  w.u64(driver_features_);
  w.u32(device_features_sel_);
  w.u32(driver_features_sel_);
  w.u32(queue_sel_);
  w.u32(status_);
  w.u32(isr_);
  w.u32(config_generation_);
  w.boolean(activated_);
  for (const auto& q : queues_) q->save_state(w);
  state::Writer device;
  device_->save_state(device);
  w.u32(device_->state_version());
  w.bytes(device.data());
}

void VirtioMmio::load_state(state::Reader& r) {
  reset();  // the device inactive and every queue fresh, as the driver found them
  const uint32_t id = r.u32();
  if (id != device_->device_id()) {
    state::state_fail("state section '{}': virtio device ID {}, but this slot holds device ID {}",
                      r.what(), id, device_->device_id());
  }
  const uint32_t num_queues = r.u32();
  if (num_queues != queues_.size()) {
    state::state_fail("state section '{}': {} virtio queues, this device has {}", r.what(),
                      num_queues, queues_.size());
  }
  const uint64_t driver_features = r.u64();
  const uint32_t device_features_sel = r.u32();
  const uint32_t driver_features_sel = r.u32();
  const uint32_t queue_sel = r.u32();
  const uint32_t status = r.u32();
  const uint32_t isr = r.u32();
  const uint32_t config_generation = r.u32();
  const bool activated = r.boolean();

  // What write_status() and set_isr() let a driver reach, and no more.
  if ((isr & ~(kIntUsedBuffer | kIntConfigChange)) != 0) {
    state::state_fail("state section '{}': bad InterruptStatus {:#x}", r.what(), isr);
  }
  const bool driver_ok = (status & kStatusDriverOk) != 0;
  if (driver_ok && (status & kStatusFeaturesOk) == 0) {
    state::state_fail("state section '{}': DRIVER_OK without FEATURES_OK", r.what());
  }
  if (activated != driver_ok) {
    state::state_fail("state section '{}': activation does not match status {:#x}", r.what(),
                      status);
  }
  if ((status & kStatusFeaturesOk) != 0 &&
      ((driver_features & ~offered_) != 0 || (driver_features & kFVersion1) == 0)) {
    state::state_fail(
        "state section '{}': the driver accepted features {:#x}, this device offers {:#x}",
        r.what(), driver_features, offered_);
  }

  driver_features_ = driver_features;
  device_features_sel_ = device_features_sel;
  driver_features_sel_ = driver_features_sel;
  queue_sel_ = queue_sel;
  status_ = status;
  isr_ = isr;
  config_generation_ = config_generation;
  // The device sees what it saw after DRIVER_OK. Its queues are not ready
  // yet, so activation cannot serve buffers (and write guest memory) early.
  if (activated) {
    activated_ = true;
    device_->activate(driver_features_);
  }
  for (auto& q : queues_) q->load_state(r);

  const uint32_t version = r.u32();
  if (version != device_->state_version()) {
    state::state_fail("state section '{}': virtio device state version {}, this vessel reads {}",
                      r.what(), version, device_->state_version());
  }
  const std::vector<uint8_t> payload = r.bytes(state::kMaxSectionBytes);
  state::Reader device(payload, r.what() + "/device");
  device_->load_state(device);
  device.expect_end();

  // The interrupt controller is restored on its own; drive the line anyway
  // so both agree whichever is restored first.
  irq_level_ = isr_ != 0;
  irq_.set(irq_level_);
}

}  // namespace vessel::virtio
