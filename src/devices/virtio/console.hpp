// virtio-console (virtio 1.2 spec 5.3 "Console Device"): one port, no
// MULTIPORT. receiveq (0) carries host input into buffers the driver posts;
// transmitq (1) carries guest output to a host callback.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "base/log.hpp"
#include "devices/virtio/virtio_device.hpp"

namespace vessel::virtio {

class Console final : public VirtioDevice {
 public:
  using Output = std::function<void(std::span<const uint8_t>)>;

  // 5.3.3 Feature bits.
  static constexpr uint64_t kFSize = 1ull << 0;
  static constexpr uint64_t kFMultiport = 1ull << 1;
  static constexpr uint64_t kFEmergWrite = 1ull << 2;
  static constexpr unsigned kReceiveQueue = 0, kTransmitQueue = 1;
  static constexpr uint16_t kQueueSize = 64;
  // Host input held while the driver has posted no receive buffers.
  static constexpr size_t kPendingMax = 4096;
  // Guest output taken from one transmit chain at most; the rest is dropped
  // (Linux's hvc sends at most a page per buffer).
  static constexpr uint32_t kMaxTxPerChain = 64 * 1024;

  explicit Console(Output output, uint16_t cols = 80, uint16_t rows = 24);

  uint32_t device_id() const override { return kIdConsole; }
  uint64_t device_features() const override { return kFSize | kFEmergWrite; }
  unsigned num_queues() const override { return 2; }
  uint16_t queue_max_size(unsigned /*queue*/) const override { return kQueueSize; }
  // 5.3.4: struct virtio_console_config { le16 cols; le16 rows;
  // le32 max_nr_ports; le32 emerg_wr; }.
  void read_config(uint64_t offset, std::span<uint8_t> out) override;
  void write_config(uint64_t offset, std::span<const uint8_t> in) override;
  void activate(uint64_t features) override;
  void reset() override;
  void queue_notify(unsigned queue) override;
  // The terminal size the guest sees and host input not yet delivered.
  static constexpr uint32_t kStateVersion = 1;
  uint32_t state_version() const override { return kStateVersion; }
  void save_state(state::Writer& w) const override;
  void load_state(state::Reader& r) override;

  // Host input for the guest: all of `bytes` is accepted (delivered now or
  // kept until the driver posts buffers) or, if the pending buffer cannot
  // hold it, none is and false is returned: the caller keeps it and retries.
  bool receive(std::span<const uint8_t> bytes);
  // Room for receive() right now.
  size_t rx_space() const { return kPendingMax - pending_.size(); }
  // The terminal changed size: updates config and tells the driver.
  void resize(uint16_t cols, uint16_t rows);

 private:
  void flush_rx();
  void drain_tx();

  Output output_;
  uint16_t cols_;
  uint16_t rows_;
  bool active_ = false;
  std::vector<uint8_t> pending_;  // host input not yet in guest buffers
  RateLimit log_limit_;
};

}  // namespace vessel::virtio
