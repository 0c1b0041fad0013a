#include "devices/virtio/console.hpp"

#include <algorithm>
#include <cstring>

#include "devices/virtio/virtqueue.hpp"

namespace vessel::virtio {

Console::Console(Output output, uint16_t cols, uint16_t rows)
    : output_(std::move(output)), cols_(cols), rows_(rows) {}

void Console::read_config(uint64_t offset, std::span<uint8_t> out) {
  uint8_t config[12] = {};
  std::memcpy(config + 0, &cols_, 2);
  std::memcpy(config + 2, &rows_, 2);
  const uint32_t max_nr_ports = 1;  // only meaningful with MULTIPORT
  std::memcpy(config + 4, &max_nr_ports, 4);
  // emerg_wr (offset 8) is write-only and reads as 0.
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = offset < sizeof config && i < sizeof config - offset ? config[offset + i] : 0;
  }
}

void Console::write_config(uint64_t offset, std::span<const uint8_t> in) {
  // 5.3.4: a write to emerg_wr outputs its low byte, even before DRIVER_OK.
  if (offset == 8 && !in.empty() && output_) output_(in.first(1));
}

void Console::activate(uint64_t /*features*/) {
  active_ = true;
  drain_tx();
  flush_rx();
}

void Console::reset() {
  // Host input not yet delivered stays pending for the next driver.
  active_ = false;
}

void Console::queue_notify(unsigned queue) {
  if (queue == kReceiveQueue) flush_rx();
  if (queue == kTransmitQueue) drain_tx();
}

void Console::save_state(state::Writer& w) const {
  w.u16(cols_);
  w.u16(rows_);
  w.bytes(pending_);
}

void Console::load_state(state::Reader& r) {
  const uint16_t cols = r.u16();
  const uint16_t rows = r.u16();
  pending_ = r.bytes(kPendingMax);
  cols_ = cols;
  rows_ = rows;
  // Delivered when the driver next posts buffers or more input arrives, as
  // before the save.
}

bool Console::receive(std::span<const uint8_t> bytes) {
  if (bytes.size() > rx_space()) return false;
  pending_.insert(pending_.end(), bytes.begin(), bytes.end());
  flush_rx();
  return true;
}

void Console::resize(uint16_t cols, uint16_t rows) {
  cols_ = cols;
  rows_ = rows;
  if (host_ != nullptr) host_->config_changed();
}

// 5.3.6.1: input fills the device-writable buffers of receiveq 0.
void Console::flush_rx() {
  if (!active_ || host_ == nullptr || pending_.empty()) return;
  Virtqueue& q = host_->queue(kReceiveQueue);
  size_t taken = 0;
  bool used = false;
  while (taken < pending_.size()) {
    auto chain = q.pop();
    if (!chain) break;
    ChainWriter writer(host_->memory(), *chain);
    taken += writer.write(std::span<const uint8_t>(pending_).subspan(taken));
    q.push(*chain, static_cast<uint32_t>(writer.written()));
    used = true;
  }
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(taken));
  if (used) host_->notify_used(kReceiveQueue);
}

// 5.3.6.1: output is the device-readable part of each transmitq buffer;
// the used length is 0 (nothing written).
void Console::drain_tx() {
  if (!active_ || host_ == nullptr) return;
  Virtqueue& q = host_->queue(kTransmitQueue);
  bool used = false;
  while (auto chain = q.pop()) {
    ChainReader reader(host_->memory(), *chain);
    uint8_t buf[1024];
    uint32_t sent = 0;
    while (sent < kMaxTxPerChain && reader.remaining() > 0) {
      const size_t n = reader.read({buf, std::min<size_t>(sizeof buf, kMaxTxPerChain - sent)});
      if (n == 0) break;
      if (output_) output_({buf, n});
      sent += static_cast<uint32_t>(n);
    }
    if (reader.remaining() > 0 && log_limit_.allow()) {
      spdlog::warn("virtio-console: transmit buffer over {} bytes truncated", kMaxTxPerChain);
    }
    q.push(*chain, 0);
    used = true;
  }
  if (used) host_->notify_used(kTransmitQueue);
}

}  // namespace vessel::virtio
