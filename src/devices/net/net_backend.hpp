// Where a virtual NIC's Ethernet frames go on the host: user-mode networking
// (libslirp), a tap device, or a test double. A backend carries whole
// Ethernet frames without any virtio header, and is a PollSource: the machine
// registers it with the VM's event loop, and it delivers received frames from
// dispatch() (or from inside send(), when the network answers at once), always
// on the VM thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <utility>

#include "base/event_loop.hpp"

namespace vessel::net {

using MacAddress = std::array<uint8_t, 6>;
// The default guest MAC (locally administered; QEMU's first NIC).
inline constexpr MacAddress kDefaultMac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

// The largest frame (without virtio header) a device sends or accepts: a
// 64 KiB IP datagram plus Ethernet and VLAN headers, as in QEMU.
inline constexpr size_t kMaxFrameBytes = 65550;
// An Ethernet header: anything shorter is not a frame.
inline constexpr size_t kMinFrameBytes = 14;

class NetBackend : public PollSource {
 public:
  // Receives one frame from the network. The span is valid only during the
  // call. May be called from inside send().
  using FrameSink = std::function<void(std::span<const uint8_t> frame)>;

  ~NetBackend() override = default;

  // Sends one Ethernet frame toward the network. Never blocks: a frame the
  // host cannot take now is dropped (the guest's TCP retransmits).
  virtual void send(std::span<const uint8_t> frame) = 0;

  // The device that receives this backend's frames (one at a time).
  void set_sink(FrameSink sink) { sink_ = std::move(sink); }
  bool has_sink() const { return static_cast<bool>(sink_); }

  // Backpressure from the device: false while the guest has posted no
  // receive buffers. A backend that can leave frames waiting outside vessel
  // (tap: in the kernel's queue) stops reading until it turns true; one that
  // cannot (slirp) delivers anyway and the device queues a bounded number of
  // frames, dropping beyond.
  void set_receive_ready(bool ready) { receive_ready_ = ready; }
  bool receive_ready() const { return receive_ready_; }

  // Live migration on one host: the host ports this backend listens on
  // (hostfwd) go to the destination process while the source is stopped,
  // and come back if the migration fails. Connections already forwarded stay.
  virtual void release_host_ports() {}
  virtual void retake_host_ports() {}

 protected:
  void deliver(std::span<const uint8_t> frame) {
    if (sink_) sink_(frame);
  }

 private:
  FrameSink sink_;
  bool receive_ready_ = true;
};

}  // namespace vessel::net
