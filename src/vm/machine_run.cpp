// Running a Machine: run(), the round-robin scheduler (every hart on the
// calling thread; hart_threads.cpp has the other one), the devices' and
// timers' service between slices, HTIF, and the limits (signals, --timeout,
// --max-instructions).
#include <signal.h>

#include <algorithm>
#include <atomic>

#include "base/error.hpp"
#include "base/sandbox.hpp"
#include "memory/page_scanner.hpp"
#include "vm/debug_hooks.hpp"
#include "vm/journal.hpp"
#include "vm/machine.hpp"
#include "vm/sbi_glue.hpp"

namespace vessel {

std::atomic<int> g_signal{0};

namespace {

constexpr uint64_t kInputPollNs = 1'000'000;  // check console input every millisecond of host time

void on_signal(int sig) {
  g_signal.store(sig);
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}

}  // namespace

void Machine::service_htif() {
  if (!tohost_) return;
  uint64_t cmd = 0;
  memory_->read(*tohost_, {reinterpret_cast<uint8_t*>(&cmd), 8});
  if (cmd == 0) return;
  const uint64_t device = cmd >> 56;
  const uint64_t command = (cmd >> 48) & 0xff;
  const uint64_t payload = cmd & ((1ull << 48) - 1);
  uint64_t response = 0;
  if (device == 0 && command == 0 && (payload & 1) != 0) {
    const uint64_t code = payload >> 1;
    if (code != 0) {
      console_->flush();
      spdlog::error("guest reported failure: FAIL test {}", code);
    }
    finish(code == 0 ? 0 : static_cast<int>(std::clamp<uint64_t>(code, 1, 255)));
  } else if (device == 1 && command == 1) {
    console_->put(static_cast<uint8_t>(payload));
    response = (device << 56) | (command << 48);
  } else if (device == 1 && command == 0) {
    const int ch = console_get();
    response = (device << 56) | (command << 48) | static_cast<uint64_t>(ch < 0 ? 0 : ch + 1);
  } else {
    if (htif_log_limit_.allow()) spdlog::warn("unsupported HTIF request {:#x}", cmd);
  }
  const uint64_t zero = 0;
  memory_->write(*tohost_, {reinterpret_cast<const uint8_t*>(&zero), 8});
  if (fromhost_ && response != 0) {
    memory_->write(*fromhost_, {reinterpret_cast<const uint8_t*>(&response), 8});
  }
}

void Machine::update_timer_pins() {
  clint_->update();
  if (sbi_) sbi_->update_timers(clock_.now());
}

void Machine::service_devices(int64_t wait_ms) {
  events_.run_once(wait_ms);
  update_timer_pins();
  service_console();
  if (scanner_ && !io_busy()) scanner_->step(GuestClock::host_ns());
}

// Console input to the guest (and to the journal when recording), and Ctrl-a x.
void Machine::service_console() {
  console_->pump_input_block([&](std::span<const uint8_t> bytes) -> size_t {
    const size_t took = deliver_console_input(bytes);
    if (journal_ != nullptr) journal_->console_input(bytes.first(took));
    return took;
  });
  if (console_->quit_requested() && !exiting() &&
      (journal_ == nullptr || !journal_->stop_requested())) {
    spdlog::info("quit requested from the console");
    host_stop(0);
  }
}

uint64_t Machine::next_wakeup_ticks() const {
  uint64_t next = clint_->next_deadline();
  if (sbi_) next = std::min(next, sbi_->next_deadline());
  return next;
}

uint64_t Machine::next_wakeup_ticks(unsigned i) const {
  const uint64_t now = clock_.now();
  uint64_t next = UINT64_MAX;
  if (const uint64_t t = clint_->mtimecmp(i); t > now) next = t;
  if (sbi_) {
    if (const uint64_t t = sbi_->deadline(i); t > now) next = std::min(next, t);
  }
  return next;
}

// Every hart waits for an interrupt: sleep until the next timer deadline or
// console input, whichever comes first.
void Machine::wait_for_interrupt() {
  console_->flush();
  const uint64_t deadline = next_wakeup_ticks();
  if (clock_.mode() == GuestClock::Mode::kDeterministic) {
    // Guest time does not pass while nothing executes: jump to the deadline.
    if (deadline != UINT64_MAX) {
      if (deadline > clock_.now()) clock_.set_now(deadline);
      return;
    }
    // A replay has no input to wait for: the next stop may bring some.
    if (replaying()) return;
  }
  int64_t timeout_ms = 100;  // wake up regularly to notice signals and limits
  if (deadline != UINT64_MAX && clock_.mode() == GuestClock::Mode::kHost) {
    const uint64_t ns = clock_.host_ns_until(deadline);
    timeout_ms = static_cast<int64_t>(std::min<uint64_t>((ns + 999'999) / 1'000'000, 100));
  }
  service_devices(timeout_ms);
}

bool Machine::hart_threads() const {
  return harts_.size() > 1 && !config_.deterministic && !slice_hooks_.budget &&
         !slice_hooks_.after_round && debugger_ == nullptr;
}

RunResult Machine::run() {
  if (!restored_) load();
  if (config_.page_sharing) {
    if (page_store_ == nullptr) fail("page sharing needs a page store");
    scanner_ = std::make_unique<PageScanner>(*memory_, *page_store_);
    scanner_->set_rate(config_.sharing_rate);
    scanner_->set_break_percent(config_.sharing_break_percent);
    scanner_->set_enabled(true);
  }
  install_signal_handlers();
  // From here on the VM thread keeps only the system calls it needs.
  sandbox::confine_thread(sandbox::Role::kVm);
  const uint64_t start_ns = GuestClock::host_ns();
  started_ns_ = start_ns;
  const uint64_t timeout_ns =
      config_.timeout_seconds > 0 ? static_cast<uint64_t>(config_.timeout_seconds * 1e9) : 0;
  // A recording started and stopped on a running VM switches between the
  // two schedulers (begin_deterministic, end_deterministic): each returns
  // true when the other one is to take over.
  while (hart_threads() ? run_threaded(start_ns, timeout_ns)
                        : run_round_robin(start_ns, timeout_ns)) {
  }
  console_->flush();
  mailbox_.close();
  // Gives shared pages back to the store while other VMs may run on.
  scanner_.reset();
  RunResult result;
  {
    std::lock_guard lock(exit_mutex_);
    result.status = exit_status_.value_or(1);
  }
  if (debugger_ != nullptr) debugger_->vm_exited(result.status);
  result.instructions = retired_;
  result.engine = config_.engine;
  result.engine_stats = engine_stats();
  for (const auto& h : harts_) result.hart_instret.push_back(h->instret());
  result.seconds = static_cast<double>(GuestClock::host_ns() - start_ns) / 1e9;
  return result;
}

bool Machine::check_limits(uint64_t now_ns, uint64_t start_ns, uint64_t timeout_ns) {
  // A recording that was asked to stop ends at the scheduler's next stop.
  const bool stopping = journal_ != nullptr && journal_->stop_requested();
  if (const int sig = g_signal.load(); sig != 0) {
    if (stopping) return false;
    console_->flush();
    spdlog::error("stopped by signal {}", sig);
    return host_stop(128 + sig);
  }
  const uint64_t retired = retired_ + threaded_retired_.load(std::memory_order_relaxed);
  if (config_.max_instructions != 0 && retired >= config_.max_instructions) {
    console_->flush();
    spdlog::error("stopped after {} instructions (--max-instructions)", retired);
    finish(kExitLimit);
    return exiting();  // a debugger may hold a replay's end instead
  }
  if (timeout_ns != 0 && now_ns - start_ns >= timeout_ns && !stopping) {
    console_->flush();
    spdlog::error("stopped after {} seconds (--timeout)", config_.timeout_seconds);
    return host_stop(kExitLimit);
  }
  return false;
}

// Every hart on this thread, in turn.
bool Machine::run_round_robin(uint64_t start_ns, uint64_t timeout_ns) {
  uint64_t last_poll_ns = start_ns;
  while (!exiting()) {
    mailbox_.run_pending();
    // `record stop` on a VM that ran a host thread per hart before `record
    // start`: run() starts them again.
    if (hart_threads()) return true;
    if (paused_) {
      // Only the mailbox (resume, snapshot, quit) and signals matter now.
      mailbox_.wait(100);
      if (const int sig = g_signal.load(); sig != 0) {
        spdlog::error("stopped by signal {}", sig);
        finish(128 + sig);
      }
      continue;
    }
    // A debugger holding the VM: only signals and limits matter meanwhile.
    if (debugger_ != nullptr && !debugger_->before_round()) {
      console_->flush();
      if (exiting() || check_limits(GuestClock::host_ns(), start_ns, timeout_ns)) break;
      continue;
    }
    bool ran = false;
    bool abandoned = false;
    if (journal_ != nullptr) journal_->round_start();
    for (unsigned i = 0; i < harts_.size() && !exiting(); ++i) {
      if (!running_[i]) continue;
      rv::Hart& hart = *harts_[i];
      if (hart.waiting() && !hart.wake_pending()) continue;
      if (harts_.size() > 1) hart.clear_reservation();
      uint64_t budget = slice_hooks_.budget ? slice_hooks_.budget() : kSliceInstructions;
      if (config_.max_instructions != 0) {
        budget = std::min(budget,
                          config_.max_instructions - std::min(config_.max_instructions, retired_));
      }
      if (budget == 0) break;
      StopReason stop;
      t_running_code = code_[i].get();
      // Active only while it runs: the others catch up with what changed
      // (smp_sync.hpp) before their next slice, so nobody waits for them.
      hart.set_active(true);
      retired_ += debugger_ != nullptr
                      ? debugger_->run_hart(i, budget, stop)
                      : static_cast<Vcpu&>(hart).run(budget, stop);  // the engine seam
      hart.set_active(false);
      t_running_code = nullptr;
      ran = true;
      if (debugger_ != nullptr && debugger_->abandon_round()) {
        abandoned = true;
        break;
      }
    }
    if (abandoned) continue;  // the debugger puts back an earlier state
    journal_boundary();       // record/replay: inputs and checks at instruction-count positions
    if (slice_hooks_.after_round) slice_hooks_.after_round();
    for (unsigned i = 0; i < harts_.size(); ++i) {
      if (code_[i]->over_limit()) {  // the hart is not running: its TLBs can let go of the pages
        code_[i]->trim();
        harts_[i]->flush_translations();
      }
    }
    service_htif();
    const uint64_t now_ns = GuestClock::host_ns();
    if (now_ns - last_poll_ns >= kInputPollNs) {
      last_poll_ns = now_ns;
      service_devices(0);
      console_->flush();
    } else {
      update_timer_pins();
    }
    if (exiting() || check_limits(now_ns, start_ns, timeout_ns)) break;
    if (!ran) {
      if (std::none_of(running_.get(), running_.get() + harts_.size(),
                       [](const std::atomic<bool>& r) { return r.load(); })) {
        console_->flush();
        spdlog::error("every hart has stopped");
        finish(1);
        if (exiting()) break;
        continue;
      }
      wait_for_interrupt();
    }
  }
  return false;
}

void Machine::flush_write_translations_everywhere() {
  if (!threads_running_ || world_stopped_) {
    // Every hart is still (or there is only this thread): drop them here.
    for (auto& h : harts_) h->flush_write_translations();
    return;
  }
  // A device on some hart's thread (the balloon giving back shared pages):
  // the pages only become writable, so the others may drop theirs later.
  for (unsigned i = 0; i < harts_.size(); ++i) {
    if (t_running_code == code_[i].get()) {
      harts_[i]->flush_write_translations();
    } else {
      smp_.request(*harts_[i], rv::SmpSync::kFlushWrite, /*wait=*/false, nullptr);
    }
  }
}

}  // namespace vessel
