#include "devices/virtio/rng.hpp"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>

#include "devices/virtio/virtqueue.hpp"

namespace vessel::virtio {

size_t host_random(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = getrandom(out.data() + done, out.size() - done, GRND_NONBLOCK);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // EAGAIN: the pool is not initialised yet; give what we have
    }
  }
  return done;
}

Rng::Rng(Source source) : source_(source ? std::move(source) : Source(host_random)) {}

void Rng::read_config(uint64_t /*offset*/, std::span<uint8_t> out) {
  std::fill(out.begin(), out.end(), 0);
}

void Rng::activate(uint64_t /*features*/) {
  active_ = true;
  process();  // buffers posted before DRIVER_OK
}

void Rng::queue_notify(unsigned queue) {
  if (queue == 0) process();
}

// 5.4.6: the device fills the device-writable part of each buffer with
// random bytes; a device-readable part (a driver bug) is ignored.
void Rng::process() {
  if (!active_ || host_ == nullptr) return;
  Virtqueue& q = host_->queue(0);
  bool used = false;
  // pop() yields at most the queue size of chains per published avail idx.
  while (auto chain = q.pop()) {
    ChainWriter writer(host_->memory(), *chain);
    // Randomness goes straight into guest memory; take_iovecs() has
    // prepared those ranges for the write.
    uint64_t filled = 0;
    for (const iovec& iov : writer.take_iovecs(kMaxBytesPerRequest)) {
      const std::span<uint8_t> span(static_cast<uint8_t*>(iov.iov_base), iov.iov_len);
      const size_t got = std::min(source_(span), span.size());
      filled += got;
      // The iovecs are consecutive in the chain: after a shortfall, the
      // used length must stop at the last filled byte.
      if (got < span.size()) break;
    }
    bytes_served_ += filled;
    q.push(*chain, static_cast<uint32_t>(filled));
    used = true;
  }
  if (used) host_->notify_used(0);
}

}  // namespace vessel::virtio
