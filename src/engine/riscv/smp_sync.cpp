#include "engine/riscv/smp_sync.hpp"

#include <algorithm>
#include <thread>

#include "engine/riscv/hart.hpp"

namespace vessel::rv {

namespace {
// Spins politely: the hart waited for needs a core too (this host may have
// fewer cores than the guest has harts).
void pause_briefly(unsigned& spins) {
  if (++spins < 64) {
    __builtin_ia32_pause();
  } else {
    std::this_thread::yield();
  }
}
}  // namespace

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
    unsigned spins = 0;
    bool kicked = false;
    while (h->active() && h->seen_code_epoch() < epoch) {
      if (!kicked) {
        h->request_stop();
        kicked = true;
      }
      if (self != nullptr) self->serve_requests();
      pause_briefly(spins);
    }
  }
}

void SmpSync::request(Hart& target, uint32_t what, bool wait, Hart* self) {
  const uint64_t seq = target.post_request(what);
  target.request_stop();
  if (!wait) return;
  unsigned spins = 0;
  while (target.active() && target.served_requests() < seq) {
    if (self != nullptr) self->serve_requests();
    pause_briefly(spins);
  }
}

}  // namespace vessel::rv
