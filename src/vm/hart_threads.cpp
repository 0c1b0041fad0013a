// The scheduler with a host thread per hart (see machine.hpp and the
// README's "Harts on host threads").
//
// Threads and what they touch:
// - each hart's thread runs its hart in slices; between slices it serves
//   requests from other harts (engine/riscv/smp_sync.hpp), updates the
//   timers, flushes the console and, while the hart waits for an interrupt,
//   sleeps on its pins' doorbell until an interrupt, a start or the next
//   timer deadline;
// - the VM thread (the caller of run()) runs the device event loop under
//   the device lock, the mailbox, page sharing and the limits.
// Work that must see every hart still (mailbox tasks: snapshot, migration
// rounds, statistics, pause; page-sharing scans) runs between
// stop_world() and resume_world(): every hart thread parks at the end of its
// slice, or stays asleep.
// `vessel ctl record start` ends the hart threads from a mailbox task
// (end_hart_threads(), with the world stopped) and run() goes on with the
// round-robin scheduler, which a recording needs; `record stop` makes run()
// start them again (machine_run.cpp).
#include <signal.h>

#include <algorithm>
#include <chrono>

#include "base/error.hpp"
#include "base/sandbox.hpp"
#include "memory/page_scanner.hpp"
#include "vm/machine.hpp"
#include "vm/sbi_glue.hpp"

namespace vessel {

namespace {
// How long the VM thread may block in its event loop: it looks at signals
// and limits at least this often, and page sharing scans at this pace.
constexpr int64_t kVmLoopMs = 100;
constexpr int64_t kScanEveryMs = 10;
constexpr uint64_t kMaxSleepNs = 100'000'000;
}  // namespace

bool Machine::run_threaded(uint64_t start_ns, uint64_t timeout_ns) {
  threads_running_ = true;
  threads_exit_ = false;
  stop_world_ = paused_;  // a VM restored paused starts with its harts parked
  for (unsigned i = 0; i < harts_.size(); ++i) {
    hart_threads_.emplace_back([this, i] { hart_thread(i); });
  }
  uint64_t last_scan_ns = start_ns;
  while (!exiting()) {
    const int64_t wait_ms = scanner_ ? kScanEveryMs : kVmLoopMs;
    events_.run_once(paused_ ? 0 : wait_ms, &bus_.device_mutex());
    {
      auto lock = device_lock();
      service_console();
      console_->flush();
    }
    if (mailbox_.has_pending() || paused_) {
      stop_world();
      mailbox_.run_pending();
      while (paused_ && !exiting()) {
        // Only the mailbox (resume, snapshot, quit) and signals matter now.
        mailbox_.wait(100);
        mailbox_.run_pending();
        if (const int sig = g_signal.load(); sig != 0) {
          spdlog::error("stopped by signal {}", sig);
          finish(128 + sig);
        }
      }
      // A VM that ended in the mailbox (it migrated away, or quit) must not
      // run on: the harts stay parked until they are told to leave, below.
      // (Resumed here, a hart could run a slice before it saw the end, and
      // the destination would repeat what it did.)
      if (exiting()) break;
      // A task ended the hart threads (`record start`): run() goes on with
      // the round-robin scheduler.
      if (hart_threads_.empty()) return true;
      resume_world();
    }
    const uint64_t now_ns = GuestClock::host_ns();
    if (scanner_ && now_ns - last_scan_ns >= kScanEveryMs * 1'000'000) {
      last_scan_ns = now_ns;
      // It remaps pages other harts may be using; whether I/O is in flight
      // is asked with the harts stopped and the device lock held (a hart
      // submits requests under that lock).
      stop_world();
      if (!io_busy()) scanner_->step(now_ns);
      resume_world();
    }
    if (exiting()) break;
    // Under the device lock: both flush the console, as hart threads do.
    auto lock = device_lock();
    if (check_limits(now_ns, start_ns, timeout_ns)) break;
    if (std::none_of(running_.get(), running_.get() + harts_.size(),
                     [](const std::atomic<bool>& r) { return r.load(); })) {
      console_->flush();
      spdlog::error("every hart has stopped");
      finish(1);
    }
  }
  end_hart_threads();
  return false;
}

void Machine::end_hart_threads() {
  if (hart_threads_.empty()) return;
  {
    std::lock_guard lock(park_mutex_);
    threads_exit_ = true;
  }
  // Parked harts see threads_exit_ before they could run again; one about
  // to sleep in idle_hart() may wait for the device lock the stopped world
  // holds, so that is let go too.
  resume_world();
  for (auto& p : pins_) p->doorbell.ring();
  for (auto& t : hart_threads_) t.join();
  hart_threads_.clear();
  threads_running_ = false;
  // run_threaded() may start them again (`record stop`).
  threads_exit_ = false;
  retired_ += threaded_retired_.exchange(0);
}

void Machine::hart_thread(unsigned i) {
  // Signals go to the VM thread, which acts on them.
  sigset_t block;
  sigemptyset(&block);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&block, sig);
  pthread_sigmask(SIG_BLOCK, &block, nullptr);
  sandbox::confine_thread(sandbox::Role::kHart);

  t_running_code = code_[i].get();
  rv::Hart& hart = *harts_[i];
  for (;;) {
    // Active first, then look at the flags: stop_world() sets its flag
    // first, then looks at active (both seq_cst), so one of them sees the
    // other.
    hart.set_active(true);
    if (threads_exit_.load()) break;
    if (stop_world_.load()) {
      hart.set_active(false);
      park_hart();
      continue;
    }
    if (!running_[i].load(std::memory_order_acquire) || (hart.waiting() && !hart.wake_pending())) {
      hart.set_active(false);
      idle_hart(i);
      continue;
    }
    if (code_[i]->over_limit()) {
      code_[i]->trim();
      hart.flush_translations();
    }
    uint64_t budget = kSliceInstructions;
    if (config_.max_instructions != 0) {
      const uint64_t done = retired_ + threaded_retired_.load(std::memory_order_relaxed);
      budget =
          std::min(budget, config_.max_instructions - std::min(config_.max_instructions, done));
      if (budget == 0) {  // the VM thread ends the run: tell it, wait for it
        hart.set_active(false);
        wake_.wake();
        pins_[i]->doorbell.wait(pins_[i]->doorbell.ticket(), 1'000'000);
        continue;
      }
    }
    StopReason stop;
    threaded_retired_.fetch_add(static_cast<Vcpu&>(hart).run(budget, stop),
                                std::memory_order_relaxed);
    after_slice();
  }
  hart.set_active(false);
  t_running_code = nullptr;
}

// Timers, HTIF and the console, after a hart's slice.
void Machine::after_slice() {
  auto lock = device_lock();
  service_htif();
  update_timer_pins();
  console_->flush();
}

// The hart waits for an interrupt, or has not been started: sleep until a
// pin rises, someone rings, or the next timer deadline.
void Machine::idle_hart(unsigned i) {
  rv::Hart& hart = *harts_[i];
  Doorbell& doorbell = pins_[i]->doorbell;
  const uint32_t ticket = doorbell.ticket();
  uint64_t sleep_ns = kMaxSleepNs;
  {
    auto lock = device_lock();
    update_timer_pins();
    // Only its own timers can wake it (each hart's thread drives its own
    // pins from its own deadline), and only those still to come: one that
    // has passed already raised its pin. Another hart's passed deadline,
    // not yet handled by that hart, made this one spin instead of sleeping.
    const uint64_t deadline = next_wakeup_ticks(i);
    if (deadline != UINT64_MAX) sleep_ns = std::min(sleep_ns, clock_.host_ns_until(deadline));
    console_->flush();
  }
  if (threads_exit_.load() || stop_world_.load() || exiting()) return;
  if (running_[i].load(std::memory_order_acquire) && (!hart.waiting() || hart.wake_pending())) {
    return;
  }
  if (sleep_ns == 0) return;
  doorbell.wait(ticket, sleep_ns);
}

void Machine::park_hart() {
  std::unique_lock lock(park_mutex_);
  park_cv_.wait(lock, [&] { return !stop_world_.load() || threads_exit_.load(); });
}

void Machine::stop_world() {
  if (world_stopped_) return;
  // Harts that sleep stay inactive; one that wakes sees the flag first.
  stop_world_.store(true);
  for (auto& h : harts_) h->request_stop();
  for (auto& h : harts_) {
    unsigned spins = 0;
    while (h->active()) {
      // A hart ends its slice within some microseconds of the request.
      if (++spins < 100) {
        std::this_thread::yield();
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    }
  }
  // Devices too: a sleeping hart's thread updates timers under the lock.
  world_lock_ = device_lock();
  world_stopped_ = true;
}

void Machine::resume_world() {
  if (world_lock_.owns_lock()) world_lock_.unlock();
  {
    std::lock_guard lock(park_mutex_);
    stop_world_ = false;
  }
  world_stopped_ = false;
  park_cv_.notify_all();
}

}  // namespace vessel
