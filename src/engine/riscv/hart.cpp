#include "engine/riscv/hart.hpp"

#include <algorithm>

#include "engine/riscv/csr_numbers.hpp"

namespace vessel::rv {

Hart::Hart(unsigned id, GuestMemory& memory, Bus& bus, CodeCache& code, const GuestClock& clock,
           HartIrqPins& pins)
    : id_(id), memory_(memory), bus_(bus), code_(code), clock_(clock), pins_(pins) {
  reset(0);
}

void Hart::reset(uint64_t start_pc, Priv priv) {
  pc = start_pc;
  for (auto& r : x) r = 0;
  fp = FpState{};
  priv_ = priv;
  wfi_ = false;
  user_process_ = false;
  user_trap_pending_ = false;
  stop_requested_ = false;
  resv_host_ = 0;
  mstatus_ = 0;
  medeleg_ = mideleg_ = mie_ = mip_ = 0;
  mtvec_ = mscratch_ = mepc_ = mcause_ = mtval_ = 0;
  mcounteren_ = menvcfg_ = mcountinhibit_ = 0;
  stvec_ = sscratch_ = sepc_ = scause_ = stval_ = 0;
  scounteren_ = senvcfg_ = satp_ = 0;
  cycle_offset_ = instret_offset_ = 0;
  for (auto& r : pmpcfg_) r = 0;
  for (auto& r : pmpaddr_) r = 0;
  flush_tlbs();
  select_tlbs();
}

void Hart::enter_supervisor(uint64_t start_pc, uint64_t a0, uint64_t a1) {
  reset(start_pc, Priv::kSupervisor);
  medeleg_ = cause::kDelegable;
  mideleg_ = irq::kDelegable;
  mcounteren_ = 0x7;  // cycle, time, instret
  // OpenSBI leaves scounteren = CY|TM|IR for the kernel, and Linux relies on
  // it (the vDSO reads `time` from U-mode), so vessel's SBI does the same.
  scounteren_ = 0x7;
  x[10] = a0;
  x[11] = a1;
  select_tlbs();
}

void Hart::enter_user(uint64_t start_pc, uint64_t satp) {
  reset(start_pc, Priv::kUser);
  mcounteren_ = 0x7;  // cycle, time, instret, as Linux allows user programs
  scounteren_ = 0x7;
  mstatus_ |= mstatus::kFs;  // Linux turns the FPU on lazily; always on here
  satp_ = satp;
  user_process_ = true;
  user_trap_pending_ = false;
  flush_tlbs();
  select_tlbs();
}

void Hart::set_engine(Engine engine) {
  engine_ = engine;
}

uint64_t Hart::run(uint64_t budget, StopReason& stop) {
  // Cleared before the requests are served, not after: a request posted in
  // between must still stop this run (its poster may be waiting).
  stop_requested_ = false;
  serve_requests();
  if (engine_ == Engine::kJit) return run_translated(budget, stop);
  return interpret(budget, stop);
}

void Hart::sync_code_epoch() {
  // The epoch is read before the flush: a page flagged after the read makes
  // the next look flush again.
  const uint64_t epoch = memory_.code_epoch();
  flush_write_tlbs();
  code_epoch_ = epoch;
  seen_code_epoch_.store(epoch, std::memory_order_release);
  if (smp_ != nullptr) smp_->notify();
}

void Hart::serve_requests() {
  catch_up_code_epoch();
  // No bits posted is not enough to stop here: a request whose bits an
  // earlier call took (and did) may have got its number only after that call
  // read the count, and its poster waits for that number.
  if (requests_.load(std::memory_order_relaxed) == 0 &&
      requested_.load(std::memory_order_relaxed) == served_.load(std::memory_order_relaxed))
      [[likely]]
    return;
  // Every request numbered up to `upto` set its bits before its number.
  const uint64_t upto = requested_.load(std::memory_order_seq_cst);
  const uint32_t mask = in_fence_i_ ? ~SmpSync::kFenceI : ~uint32_t{0};
  do_requests(requests_.fetch_and(~mask, std::memory_order_seq_cst) & mask);
  // A fence.i left posted (inside fence_i()) counts as served only later.
  if ((requests_.load(std::memory_order_seq_cst) & SmpSync::kFenceI) == 0) {
    served_.store(upto, std::memory_order_release);
    if (smp_ != nullptr) smp_->notify();
  }
}

void Hart::do_requests(uint32_t what) {
  if ((what & SmpSync::kFlushTlb) != 0) flush_tlbs();
  if ((what & SmpSync::kFlushWrite) != 0) flush_write_tlbs();
  if ((what & SmpSync::kFenceI) != 0) fence_i();
}

void Hart::note_unconfirmed_read(uint64_t gpa) {
  const uint64_t epoch = memory_.code_epoch();
  confirmed_epoch_ = smp_->confirmed_code_epoch();
  if (epoch <= confirmed_epoch_) return;
  const uint64_t page = gpa & ~uint64_t{GuestMemory::kPageSize - 1};
  if (unconfirmed_pages_.empty() || unconfirmed_pages_.back() != page) {
    unconfirmed_pages_.push_back(page);
    if (unconfirmed_pages_.size() % 1024 == 0) {  // bounded by the RAM's pages
      std::sort(unconfirmed_pages_.begin(), unconfirmed_pages_.end());
      unconfirmed_pages_.erase(std::unique(unconfirmed_pages_.begin(), unconfirmed_pages_.end()),
                               unconfirmed_pages_.end());
    }
  }
  unconfirmed_epoch_ = std::max(unconfirmed_epoch_, epoch);
}

void Hart::fence_i() {
  // This hart's own stores reached its code cache already (the code-write
  // hook); the fetch path and the dispatcher pick up other harts' slow-path
  // stores (CodeCache::refresh) once the jump caches stop skipping them.
  flush_jump_caches();
  if (unconfirmed_pages_.empty()) return;
  // Stores through write pointers cached before a page was flagged: wait
  // until no hart can make them any more, then decode those pages afresh.
  catch_up_code_epoch();
  in_fence_i_ = true;
  smp_->wait_code_epoch(unconfirmed_epoch_, this);
  in_fence_i_ = false;
  std::sort(unconfirmed_pages_.begin(), unconfirmed_pages_.end());
  unconfirmed_pages_.erase(std::unique(unconfirmed_pages_.begin(), unconfirmed_pages_.end()),
                           unconfirmed_pages_.end());
  for (uint64_t page : unconfirmed_pages_) code_.forget(page);
  unconfirmed_pages_.clear();
  unconfirmed_epoch_ = 0;
  flush_jump_caches();  // forget() may drop blocks the jump caches point to
}

}  // namespace vessel::rv
