// virtio-net (virtio 1.2 spec 5.1), device id 1: one receive queue (0) and
// one transmit queue (1); no control queue, no multiqueue, no offloads.
// Frames go to and come from a net::NetBackend.
//
// Receive: frames from the backend are written into buffers the guest posted
// on queue 0, each behind a zeroed virtio_net_hdr. With MRG_RXBUF a frame may
// span several buffers (num_buffers says how many). While the guest has no
// buffers, up to kMaxPendingRx frames wait here (the backend is told to hold
// back) and later ones are dropped; they are delivered when the guest posts
// buffers and notifies queue 0.
//
// Transmit: each chain on queue 1 is a virtio_net_hdr followed by one frame;
// the header is skipped (no offloads were offered, so it asks for nothing).
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "base/log.hpp"
#include "devices/net/net_backend.hpp"
#include "devices/virtio/virtio_device.hpp"
#include "devices/virtio/virtqueue.hpp"

namespace vessel::virtio {

// 5.1.3 Feature bits.
inline constexpr uint64_t kNetFMac = 1ull << 5;
inline constexpr uint64_t kNetFMrgRxbuf = 1ull << 15;
inline constexpr uint64_t kNetFStatus = 1ull << 16;

// 5.1.4 Device configuration layout (the fields up to max_virtqueue_pairs;
// mtu and later fields belong to features not offered).
struct VirtioNetConfig {
  uint8_t mac[6];
  uint16_t status;               // le16
  uint16_t max_virtqueue_pairs;  // le16
};
static_assert(sizeof(VirtioNetConfig) == 10);
inline constexpr uint16_t kNetSLinkUp = 1;  // VIRTIO_NET_S_LINK_UP

// 5.1.6 Device Operation: struct virtio_net_hdr. With VIRTIO_F_VERSION_1 or
// MRG_RXBUF it is all 12 bytes; a legacy driver without MRG_RXBUF uses the
// first 10 (no num_buffers).
struct VirtioNetHdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;      // le16
  uint16_t gso_size;     // le16
  uint16_t csum_start;   // le16
  uint16_t csum_offset;  // le16
  uint16_t num_buffers;  // le16
};
static_assert(sizeof(VirtioNetHdr) == 12);

class VirtioNet final : public VirtioDevice {
 public:
  static constexpr unsigned kRxQueue = 0, kTxQueue = 1;
  static constexpr size_t kMaxPendingRx = 256;

  struct Stats {
    uint64_t tx_frames = 0, tx_dropped = 0;
    uint64_t rx_frames = 0, rx_dropped = 0;
  };

  // `backend` must outlive the device; the device becomes its frame sink.
  explicit VirtioNet(net::NetBackend& backend, net::MacAddress mac = net::kDefaultMac);
  ~VirtioNet() override;
  VirtioNet(const VirtioNet&) = delete;
  VirtioNet& operator=(const VirtioNet&) = delete;

  uint32_t device_id() const override { return kIdNet; }
  uint64_t device_features() const override { return kNetFMac | kNetFStatus | kNetFMrgRxbuf; }
  unsigned num_queues() const override { return 2; }
  void read_config(uint64_t offset, std::span<uint8_t> out) override;
  void activate(uint64_t features) override;
  void reset() override;
  void queue_notify(unsigned queue) override;
  // The MAC and link state the guest sees, and the receive buffers popped
  // but not yet used (dropping them would lose them for good: the driver
  // waits for their used entries). Frames waiting for buffers are not saved:
  // networks drop packets.
  static constexpr uint32_t kStateVersion = 1;
  uint32_t state_version() const override { return kStateVersion; }
  void save_state(state::Writer& w) const override;
  void load_state(state::Reader& r) override;

  // Link state as the guest sees it in the config space's status field.
  void set_link_up(bool up);
  bool link_up() const { return link_up_; }
  const net::MacAddress& mac() const { return mac_; }
  const Stats& stats() const { return stats_; }
  size_t pending_rx() const { return pending_.size(); }
  bool state_complete() const override { return pending_.empty(); }

 private:
  enum class Outcome { kDelivered, kDropped, kNoBuffers };

  void receive(std::span<const uint8_t> frame);  // the backend's sink
  void process_tx();
  void flush_rx();
  Outcome deliver(std::span<const uint8_t> frame);
  bool take_rx_buffer();  // moves one usable chain from the rx queue to held_
  void drop_rx(const char* why);

  net::NetBackend& backend_;
  net::MacAddress mac_;
  bool link_up_ = true;
  bool active_ = false;
  bool mrg_rxbuf_ = false;
  size_t hdr_len_ = sizeof(VirtioNetHdr);

  std::deque<std::vector<uint8_t>> pending_;  // frames waiting for rx buffers
  // Receive buffers popped from queue 0 but not used yet: with MRG_RXBUF a
  // frame is written only once enough buffers are at hand for all of it.
  std::deque<DescriptorChain> held_;
  uint64_t held_bytes_ = 0;
  bool rx_used_ = false;  // pushed to queue 0 since the last notify

  std::vector<uint8_t> tx_frame_;
  Stats stats_;
  RateLimit tx_log_limit_;
  RateLimit rx_log_limit_;
};

}  // namespace vessel::virtio
