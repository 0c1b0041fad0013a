// The seam between virtio device models (blk, net, rng, console, ...) and the
// transport that presents them to the guest (virtio-mmio today). A device
// knows its queues and config space; the transport owns registers, feature
// negotiation, status, interrupts and the Virtqueue objects.
//
// virtio 1.2 spec (oasis-tcs/virtio-spec): 2 "Basic Facilities of a Virtio
// Device", 4.2 "Virtio Over MMIO".
#pragma once

#include <cstdint>
#include <span>

#include "base/state.hpp"
#include "memory/guest_memory.hpp"

namespace vessel::virtio {

class Virtqueue;

// Feature bits the transport handles for every device (spec 6 "Reserved
// Feature Bits").
inline constexpr uint64_t kFIndirectDesc = 1ull << 28;
inline constexpr uint64_t kFEventIdx = 1ull << 29;
inline constexpr uint64_t kFVersion1 = 1ull << 32;

// Device IDs (spec 5 "Device Types").
inline constexpr uint32_t kIdNet = 1, kIdBlock = 2, kIdConsole = 3, kIdRng = 4, kIdBalloon = 5;
inline constexpr uint32_t kIdVsock = 19;

// What a device may ask of its transport. Implemented by the transport; all
// calls happen on the VM thread.
class VirtioHost {
 public:
  virtual ~VirtioHost() = default;
  virtual GuestMemory& memory() = 0;
  virtual Virtqueue& queue(unsigned index) = 0;
  // Used buffers were added to `queue`: interrupt the driver if the queue
  // asks for it (VIRTQ_AVAIL_F_NO_INTERRUPT / used_event).
  virtual void notify_used(unsigned queue) = 0;
  virtual void config_changed() = 0;
  // The device cannot continue (a malformed request it cannot fail on its
  // own): set DEVICE_NEEDS_RESET and log once, rate-limited.
  virtual void device_error(const char* what) = 0;
};

class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;

  virtual uint32_t device_id() const = 0;
  // Device-specific feature bits; the transport adds VERSION_1,
  // INDIRECT_DESC and EVENT_IDX.
  virtual uint64_t device_features() const = 0;
  virtual unsigned num_queues() const = 0;
  virtual uint16_t queue_max_size(unsigned /*queue*/) const { return 256; }

  // Device configuration space; reads past its end return zeros, writes to
  // read-only fields are ignored.
  virtual void read_config(uint64_t offset, std::span<uint8_t> out) = 0;
  virtual void write_config(uint64_t /*offset*/, std::span<const uint8_t> /*in*/) {}

  // Called once by the transport before anything else.
  virtual void attach(VirtioHost& host) { host_ = &host; }
  // DRIVER_OK was set: `features` is what the driver accepted; queues that
  // the driver made ready are configured.
  virtual void activate(uint64_t features) = 0;
  // The driver wrote 0 to status (or the VM resets): drop all in-flight
  // state. Requests still running on the host must not touch guest memory
  // afterwards.
  virtual void reset() = 0;
  // The driver notified `queue` (QueueNotify). Only called while active.
  virtual void queue_notify(unsigned queue) = 0;

  // ---- snapshot, migration ----
  // True while host-side I/O may still write guest memory or owes the used
  // ring an entry (virtio-blk's backend requests).
  virtual bool busy() const { return false; }
  // True when save_state() holds all of the device (reverse debugging
  // restores such states in place and re-executes from them): not while
  // busy(), nor while it holds what a snapshot may drop (virtio-net: frames
  // waiting for receive buffers).
  virtual bool state_complete() const { return !busy(); }
  // Blocks until nothing is busy() and every finished request is published
  // in its used ring, so a snapshot (or the last round of a migration) sees
  // memory and rings that no longer change. The guest must not run meanwhile.
  virtual void quiesce() {}
  // Live migration on one host hands the device's host resources (a disk
  // image's lock) to the destination process before it starts: released
  // while the source is stopped, taken back if the migration fails.
  virtual void release_host_locks() {}
  virtual void retake_host_locks() {}
  // The device's own state, not its queues' (the transport saves those).
  // Saving requires !busy(). load_state runs on a fresh device of the same
  // configuration, after activate() when the saved device was active, with
  // guest memory and the queues already restored; it checks everything it
  // reads and throws state::StateError on a malformed or mismatched blob.
  // Bumped when a device's layout changes; the transport refuses another.
  virtual uint32_t state_version() const { return 1; }
  virtual void save_state(state::Writer& /*w*/) const {}
  virtual void load_state(state::Reader& /*r*/) {}

 protected:
  VirtioHost* host_ = nullptr;
};

}  // namespace vessel::virtio
