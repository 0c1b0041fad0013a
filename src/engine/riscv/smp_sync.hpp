// What harts running on separate host threads must tell each other.
//
// Each hart caches host pointers (its TLBs) and decoded or translated code
// (its CodeCache), and only its own thread touches them. Another thread
// that needs them changed posts a request here and, when the change must be
// complete before it goes on (a remote sfence.vma or fence.i through the
// SBI), waits until the target served it. A hart serves requests at the
// start of every run() (slice); a target in a slice is kicked (request_stop)
// so that it ends the slice at its next dispatch. A hart not running guest
// code (asleep in WFI, parked, stopped) counts as served: it serves before it
// runs again. Whoever waits serves its own requests meanwhile, so two harts
// waiting for each other both go on.
//
// Code coherence (see code_cache.hpp): a store goes to the slow path, which
// drops decoded code, only if the page was flagged kPageCode before the
// storing hart cached its write pointer. When a page becomes a code page,
// GuestMemory's code epoch moves on, and each hart drops its cached write
// pointers when it sees the new epoch (at its next slice). Until every
// running hart has, a store through an old pointer can change the page
// unseen. So a hart that reads a page's instructions while some running hart
// lags behind the epoch notes the page; at its next fence.i it waits until
// every hart caught up and then drops what it decoded from those pages.
// With one thread (round-robin harts) nobody lags: each hart catches up at
// the start of its slice, before its first store.
//
// Waiting: a waiter spins briefly, then sleeps on a futex (std::atomic wait)
// until some hart makes progress (serves requests, sees a new code epoch,
// stops running guest code) or a request is posted to the waiter itself. On
// a host with fewer cores than harts, a spinning waiter would take the core
// the hart it waits for needs.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

namespace vessel::rv {

class Hart;

class SmpSync {
 public:
  // What a request asks the target to do.
  static constexpr uint32_t kFlushTlb = 1;    // every cached translation (sfence.vma)
  static constexpr uint32_t kFlushWrite = 2;  // cached write pointers
  static constexpr uint32_t kFenceI = 4;      // what a fence.i on the target does

  void add(Hart* hart) { harts_.push_back(hart); }
  const std::vector<Hart*>& harts() const { return harts_; }

  // The lowest code epoch any hart that is running guest code has seen.
  uint64_t confirmed_code_epoch() const;
  // Waits until every running hart has seen `epoch`; `self` (may be null:
  // not a hart's thread) serves its own requests meanwhile.
  void wait_code_epoch(uint64_t epoch, Hart* self);

  // Asks `target` to do `what`; with `wait`, returns once it has (or is not
  // running guest code). `self` as above; `target` must not be `self`.
  void request(Hart& target, uint32_t what, bool wait, Hart* self);

  // Something a waiter may be waiting for happened (called by the hart it
  // concerns, after the change is visible). Cheap when nobody sleeps.
  void notify() {
    progress_.fetch_add(1, std::memory_order_seq_cst);
    progress_.notify_all();
  }

 private:
  // Serves `self`'s requests until `done()` holds, sleeping between looks.
  template <typename Done>
  void wait_until(Done done, Hart* self);

  std::vector<Hart*> harts_;
  std::atomic<uint32_t> progress_{0};
};

}  // namespace vessel::rv
