#include "engine/riscv/smp_sync.hpp"

#include <algorithm>

#include "engine/riscv/hart.hpp"

namespace vessel::rv {

template <typename Done>
void SmpSync::wait_until(Done done, Hart* self) {
  for (unsigned spins = 0;; ++spins) {
    // Read before looking: a change after the look moves it on, so the wait
    // below returns at once instead of missing that change.
    const uint32_t seen = progress_.load(std::memory_order_seq_cst);
    if (self != nullptr) self->serve_requests();
    if (done()) return;
    if (spins < 64) {
      __builtin_ia32_pause();  // the common case: the target serves within microseconds
    } else {
      progress_.wait(seen, std::memory_order_seq_cst);
    }
  }
}

uint64_t SmpSync::confirmed_code_epoch() const {
  uint64_t lowest = UINT64_MAX;
  for (const Hart* h : harts_) {
    if (h->active()) lowest = std::min(lowest, h->seen_code_epoch());
  }
  return lowest;
}

void SmpSync::wait_code_epoch(uint64_t epoch, Hart* self) {
  for (Hart* h : harts_) {
    if (h == self) continue;
    if (!h->active() || h->seen_code_epoch() >= epoch) continue;
    h->request_stop();
    wait_until([h, epoch] { return !h->active() || h->seen_code_epoch() >= epoch; }, self);
  }
}

void SmpSync::request(Hart& target, uint32_t what, bool wait, Hart* self) {
  const uint64_t seq = target.post_request(what);
  target.request_stop();
  if (!wait) return;
  wait_until([&target, seq] { return !target.active() || target.served_requests() >= seq; }, self);
}

}  // namespace vessel::rv
