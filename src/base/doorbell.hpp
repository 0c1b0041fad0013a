// A doorbell one thread sleeps on and any thread rings: how a hart's host
// thread waits in WFI for an interrupt, a start or a stop request.
//
// Written by hand on a futex because the standard library has no timed wait
// on an atomic (std::atomic::wait cannot time out, and a WFI sleep must end
// at the next timer deadline), and a condition variable would make every
// ring take a mutex even when nobody sleeps.
#pragma once

#include <atomic>
#include <cstdint>

namespace vessel {

class Doorbell {
 public:
  // Take a ticket, then check the condition you wait for, then wait(ticket):
  // a ring() after the ticket was taken is never missed.
  uint32_t ticket() const { return rings_.load(std::memory_order_seq_cst); }

  // Wakes the sleeper, if any. Costs a system call only when one sleeps.
  void ring() {
    rings_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) != 0) wake();
  }

  // Sleeps until a ring() after `ticket`, or for at most `timeout_ns`.
  void wait(uint32_t ticket, uint64_t timeout_ns);

 private:
  void wake();

  std::atomic<uint32_t> rings_{0};
  std::atomic<uint32_t> sleepers_{0};
};

}  // namespace vessel
