// virtio-rng (virtio 1.2 spec 5.4 "Entropy Device"): one queue of
// device-writable buffers, each filled with host randomness.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "devices/virtio/virtio_device.hpp"

namespace vessel::virtio {

class Rng final : public VirtioDevice {
 public:
  // Bytes given per request at most, so one notify cannot make the VMM
  // spend long filling a huge guest buffer (the driver asks again).
  static constexpr uint32_t kMaxBytesPerRequest = 64 * 1024;
  static constexpr uint16_t kQueueSize = 64;

  // Fills the span with random bytes and returns how many it produced (0 if
  // none are available right now). Must not block. Host randomness is a
  // nondeterministic input: record/replay wraps the source.
  using Source = std::function<size_t(std::span<uint8_t>)>;

  // `source` defaults to getrandom(GRND_NONBLOCK).
  explicit Rng(Source source = {});

  uint32_t device_id() const override { return kIdRng; }
  uint64_t device_features() const override { return 0; }
  unsigned num_queues() const override { return 1; }
  uint16_t queue_max_size(unsigned /*queue*/) const override { return kQueueSize; }
  void read_config(uint64_t offset, std::span<uint8_t> out) override;  // 5.4.4: none
  void activate(uint64_t features) override;
  void reset() override { active_ = false; }
  void queue_notify(unsigned queue) override;

  uint64_t bytes_served() const { return bytes_served_; }

 private:
  void process();

  Source source_;
  bool active_ = false;
  uint64_t bytes_served_ = 0;
};

// The default source: the host kernel's CSPRNG, never blocking.
size_t host_random(std::span<uint8_t> out);

}  // namespace vessel::virtio
