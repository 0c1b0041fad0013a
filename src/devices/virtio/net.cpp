#include "devices/virtio/net.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace vessel::virtio {

VirtioNet::VirtioNet(net::NetBackend& backend, net::MacAddress mac) : backend_(backend), mac_(mac) {
  backend_.set_receive_ready(false);
  backend_.set_sink([this](std::span<const uint8_t> frame) { receive(frame); });
}

VirtioNet::~VirtioNet() {
  backend_.set_sink(nullptr);
  backend_.set_receive_ready(false);
}

void VirtioNet::read_config(uint64_t offset, std::span<uint8_t> out) {
  VirtioNetConfig config{};
  std::memcpy(config.mac, mac_.data(), sizeof config.mac);
  config.status = link_up_ ? kNetSLinkUp : 0;
  config.max_virtqueue_pairs = 1;
  // SAFETY: VirtioNetConfig is a plain struct of bytes and integers with no
  // padding (size checked at its definition).
  const auto* bytes = reinterpret_cast<const uint8_t*>(&config);
  std::fill(out.begin(), out.end(), uint8_t{0});
  if (offset >= sizeof config) return;
  const size_t n = std::min<uint64_t>(out.size(), sizeof config - offset);
  std::memcpy(out.data(), bytes + offset, n);
}

void VirtioNet::set_link_up(bool up) {
  if (up == link_up_) return;
  link_up_ = up;
  if (active_ && host_ != nullptr) host_->config_changed();
}

void VirtioNet::activate(uint64_t features) {
  mrg_rxbuf_ = (features & kNetFMrgRxbuf) != 0;
  // 5.1.6: the 12-byte header with VERSION_1 or MRG_RXBUF, else the legacy 10.
  hdr_len_ = (features & (kFVersion1 | kNetFMrgRxbuf)) != 0 ? sizeof(VirtioNetHdr)
                                                            : offsetof(VirtioNetHdr, num_buffers);
  active_ = true;
  pending_.clear();
  held_.clear();
  held_bytes_ = 0;
  backend_.set_receive_ready(true);
}

void VirtioNet::reset() {
  // Buffers held from queue 0 belong to the old driver: forget them unused.
  active_ = false;
  pending_.clear();
  held_.clear();
  held_bytes_ = 0;
  backend_.set_receive_ready(false);
}

void VirtioNet::queue_notify(unsigned queue) {
  if (!active_ || host_ == nullptr) return;
  if (queue == kTxQueue) {
    process_tx();
  } else if (queue == kRxQueue) {
    flush_rx();  // the guest posted receive buffers
  }
}

// ---- state ----

void VirtioNet::save_state(state::Writer& w) const {
  w.raw(mac_);
  w.boolean(link_up_);
  w.u64(held_.size());
  for (const DescriptorChain& chain : held_) save_chain(w, chain);
}

void VirtioNet::load_state(state::Reader& r) {
  const std::span<const uint8_t> mac = r.raw(mac_.size());
  const bool link_up = r.boolean();
  // deliver() never holds more buffers than the queue has entries.
  const Virtqueue& q = host_->queue(kRxQueue);
  const uint64_t held = r.u64_at_most(active_ && q.ready() ? q.size() : 0, "held buffer count");
  std::deque<DescriptorChain> chains;
  uint64_t bytes = 0;
  for (uint64_t i = 0; i < held; ++i) {
    DescriptorChain chain = load_chain(r, q, host_->memory());
    // take_rx_buffer() holds only buffers with room for the header.
    if (chain.writable_bytes() < hdr_len_) {
      state::state_fail("state section '{}': held receive buffer too small", r.what());
    }
    bytes += chain.writable_bytes();
    chains.push_back(std::move(chain));
  }
  std::copy(mac.begin(), mac.end(), mac_.begin());
  link_up_ = link_up;
  held_ = std::move(chains);
  held_bytes_ = bytes;
  pending_.clear();
  backend_.set_receive_ready(active_);
}

// ---- transmit (5.1.6.2 Packet Transmission) ----

void VirtioNet::process_tx() {
  Virtqueue& q = host_->queue(kTxQueue);
  if (!q.ready()) return;
  bool used = false;
  // Bounded: the guest cannot post while we run, and pop() refuses an
  // available index more than the queue size ahead.
  while (auto chain = q.pop()) {
    const uint64_t total = chain->readable_bytes();
    const char* problem = nullptr;
    if (total < hdr_len_) {
      problem = "request shorter than the virtio-net header";
    } else if (total - hdr_len_ > net::kMaxFrameBytes) {
      problem = "frame larger than 65550 bytes";
    } else if (total - hdr_len_ < net::kMinFrameBytes) {
      problem = "frame shorter than an Ethernet header";
    }
    if (!link_up_) {
      ++stats_.tx_dropped;  // a pulled cable: the frame goes nowhere, as in QEMU
    } else if (problem != nullptr) {
      ++stats_.tx_dropped;
      if (tx_log_limit_.allow()) {
        spdlog::warn("virtio-net: dropping a transmit request ({} bytes): {}", total, problem);
      }
    } else {
      ChainReader reader(host_->memory(), *chain);
      uint8_t header[sizeof(VirtioNetHdr)];
      reader.read({header, hdr_len_});  // no offloads were offered: nothing to honour
      tx_frame_.resize(total - hdr_len_);
      if (reader.read(tx_frame_) == tx_frame_.size()) {
        ++stats_.tx_frames;
        backend_.send(tx_frame_);  // may deliver replies into queue 0 right away
      } else {
        ++stats_.tx_dropped;
      }
    }
    q.push(*chain, 0);  // 5.1.6.2.1: nothing written for the driver
    used = true;
  }
  if (used) host_->notify_used(kTxQueue);
}

// ---- receive (5.1.6.3 Setting Up Receive Buffers, 5.1.6.4 Processing of
// Incoming Packets) ----

void VirtioNet::drop_rx(const char* why) {
  ++stats_.rx_dropped;
  if (rx_log_limit_.allow()) spdlog::warn("virtio-net: dropping a received frame: {}", why);
}

void VirtioNet::receive(std::span<const uint8_t> frame) {
  if (!active_ || !link_up_ || host_ == nullptr || !host_->queue(kRxQueue).ready()) {
    ++stats_.rx_dropped;  // no driver yet or the link is down: nobody on the cable
    return;
  }
  if (frame.size() < net::kMinFrameBytes || frame.size() > net::kMaxFrameBytes) {
    drop_rx("bad frame length from the backend");
    return;
  }
  if (pending_.empty() && deliver(frame) != Outcome::kNoBuffers) {
    if (rx_used_) {
      rx_used_ = false;
      host_->notify_used(kRxQueue);
    }
    return;
  }
  if (pending_.size() >= kMaxPendingRx) {
    ++stats_.rx_dropped;  // the guest is not reading: expected, not worth a log line
  } else {
    pending_.emplace_back(frame.begin(), frame.end());
  }
  flush_rx();  // in case buffers were posted without a notification
}

void VirtioNet::flush_rx() {
  if (!host_->queue(kRxQueue).ready()) return;
  while (!pending_.empty()) {
    if (deliver(pending_.front()) == Outcome::kNoBuffers) break;
    pending_.pop_front();
  }
  if (rx_used_) {
    rx_used_ = false;
    host_->notify_used(kRxQueue);
  }
  backend_.set_receive_ready(pending_.empty());
}

bool VirtioNet::take_rx_buffer() {
  Virtqueue& q = host_->queue(kRxQueue);
  while (auto chain = q.pop()) {
    const uint64_t room = chain->writable_bytes();
    if (room < hdr_len_) {
      // 5.1.6.3.1: every buffer must hold at least the header. Hand it back
      // empty so the driver can reclaim it.
      if (rx_log_limit_.allow()) {
        spdlog::warn("virtio-net: receive buffer of {} bytes cannot hold the header", room);
      }
      q.push(*chain, 0);
      rx_used_ = true;
      continue;
    }
    held_bytes_ += room;
    held_.push_back(std::move(*chain));
    return true;
  }
  return false;
}

VirtioNet::Outcome VirtioNet::deliver(std::span<const uint8_t> frame) {
  Virtqueue& q = host_->queue(kRxQueue);
  const uint64_t need = hdr_len_ + frame.size();
  size_t count = 0;  // buffers the frame will use

  if (!mrg_rxbuf_) {
    if (held_.empty() && !take_rx_buffer()) return Outcome::kNoBuffers;
    if (held_.front().writable_bytes() < need) {
      // Without MRG_RXBUF one buffer takes the whole frame; the driver
      // posted one too small. Give it back empty rather than truncate.
      held_bytes_ -= held_.front().writable_bytes();
      q.push(held_.front(), 0);
      held_.pop_front();
      rx_used_ = true;
      drop_rx("receive buffer smaller than the frame");
      return Outcome::kDropped;
    }
    count = 1;
  } else {
    while (held_bytes_ < need) {
      if (held_.size() >= q.size()) {
        // Every buffer the queue can hold together is too small: this frame
        // can never fit. Keep the buffers for the next one.
        drop_rx("frame larger than all receive buffers together");
        return Outcome::kDropped;
      }
      if (!take_rx_buffer()) return Outcome::kNoBuffers;
    }
    for (uint64_t sum = 0; sum < need; ++count) sum += held_[count].writable_bytes();
  }

  // 5.1.6.4.1: flags 0 (no checksum status offered), gso_type NONE,
  // num_buffers the buffers used (1 without MRG_RXBUF).
  VirtioNetHdr header{};
  header.num_buffers = static_cast<uint16_t>(count);
  size_t offset = 0;
  for (size_t i = 0; i < count; ++i) {
    const DescriptorChain& chain = held_[i];
    ChainWriter writer(host_->memory(), chain);
    if (i == 0) {
      // SAFETY: VirtioNetHdr is plain integers without padding; hdr_len_ <= its size.
      writer.write({reinterpret_cast<const uint8_t*>(&header), hdr_len_});
    }
    const size_t n = std::min<uint64_t>(writer.remaining(), frame.size() - offset);
    offset += writer.write(frame.subspan(offset, n));
    q.push(chain, static_cast<uint32_t>(writer.written()));
  }
  for (size_t i = 0; i < count; ++i) {
    held_bytes_ -= held_.front().writable_bytes();
    held_.pop_front();
  }
  rx_used_ = true;
  ++stats_.rx_frames;
  return Outcome::kDelivered;
}

}  // namespace vessel::virtio
