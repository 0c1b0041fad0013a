// One RISC-V hart (RV64IMAFDC + Zicsr/Zifencei/Zicntr + Zba/Zbb/Zbs) with the
// machine, supervisor and user privilege levels, Sv39/Sv48 paging and a
// software TLB. It runs guest code with one of two executors over the same
// state: the interpreter (interpreter.cpp) or the binary translator
// (jit/dispatch.cpp), chosen by set_engine().
//
// A hart knows guest memory, the MMIO bus, its interrupt pins and the guest
// clock; it does not know which devices exist (see DESIGN.md).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "base/state.hpp"
#include "devices/bus.hpp"
#include "devices/irq.hpp"
#include "engine/riscv/code_cache.hpp"
#include "engine/riscv/csr_numbers.hpp"
#include "engine/riscv/fpu.hpp"
#include "engine/riscv/hart_state.hpp"
#include "engine/riscv/smp_sync.hpp"
#include "engine/vcpu.hpp"
#include "memory/guest_memory.hpp"
#include "platform/guest_clock.hpp"

namespace vessel::rv {

enum class Priv : uint8_t { kUser = 0, kSupervisor = 1, kMachine = 3 };

enum class Access : uint8_t { kFetch, kLoad, kStore };

// A software TLB entry: host address = guest virtual address + addend.
// `vpage` is the page-aligned virtual address, or kInvalid.
struct TlbEntry {
  static constexpr uint64_t kInvalid = ~uint64_t{0};
  uint64_t vpage = kInvalid;
  uint64_t addend = 0;
};

struct FetchTlbEntry {
  uint64_t vpage = TlbEntry::kInvalid;
  DecodedPage* page = nullptr;
  const uint8_t* host = nullptr;  // host address of the page's first byte
  uint64_t gpa = 0;               // guest-physical address of the page
};

// Per kind, direct-mapped. 256 entries missed in most accesses of a random
// walk over 4 MiB (linux-cpu's mem phase: 2.5 s against 1.5 s with 1024, one
// run each under load); QEMU grows its TLB to thousands of entries for the
// same reason. A flush stays cheap (Tlb::fill_log), and a hart's four
// contexts take 320 KiB.
inline constexpr unsigned kTlbEntries = 1024;

// One translation context's TLB (see Hart::tlbs_).
// A translated block's entry in a hart's jump cache: the guest virtual pc it
// starts at (kInvalid if empty) and its host code. One cache per translation
// context, beside that context's TLB, so it is dropped whenever the TLB is.
struct JumpCacheEntry {
  uint64_t va = ~uint64_t{0};
  const void* code = nullptr;
};
inline constexpr unsigned kJumpCacheEntries = 1024;

struct Tlb {
  TlbEntry read[kTlbEntries];
  TlbEntry write[kTlbEntries];
  FetchTlbEntry fetch[kTlbEntries];
  JumpCacheEntry jump[kJumpCacheEntries];  // the binary translator's

  // Which entries were filled since the last flush, so that a flush (Linux
  // issues thousands of sfence.vma while it boots) clears only those. Past
  // kFillLog fills a flush clears everything.
  enum Kind : uint16_t { kRead = 0, kWrite = 1, kFetch = 2, kJump = 3 };
  static constexpr unsigned kFillLog = 64;
  uint16_t fill_log[kFillLog];
  uint32_t fills = 0;
  void note_fill(Kind kind, unsigned index) {
    if (fills < kFillLog) fill_log[fills] = static_cast<uint16_t>((kind << 12) | index);
    ++fills;
  }
  void flush();
};

using vessel::StopReason;

namespace jit {
class BlockCache;
struct Runtime;
}  // namespace jit

class Hart final : public HartState, public Vcpu {
 public:
  Hart(unsigned id, GuestMemory& memory, Bus& bus, CodeCache& code, const GuestClock& clock,
       HartIrqPins& pins);
  Hart(const Hart&) = delete;
  Hart& operator=(const Hart&) = delete;

  // Resets architectural state and starts at `pc` in `priv`.
  void reset(uint64_t pc, Priv priv = Priv::kMachine);

  // Chooses the executor (the interpreter by default). Takes effect at the
  // next run(); the architectural state is the same for both.
  void set_engine(Engine engine);
  Engine engine() const override { return engine_; }
  // Translation statistics (zero for the interpreter).
  EngineStats engine_stats() const;

  // Executes up to `budget` instructions. Returns how many retired; `stop`
  // says why it returned. Takes pending interrupts first.
  uint64_t run(uint64_t budget, StopReason& stop) override;
  void set_exact_budget(bool exact) override { exact_budget_ = exact; }

  // Ends the current run() at the next instruction boundary that leaves the
  // fast path (MMIO side effects call it so the machine can react).
  // Any thread may call it.
  void request_stop() override { stop_requested_.store(true, std::memory_order_relaxed); }
  // A stop requested during a run that ended for its budget first: the next
  // run() clears it, though the same run with more budget would have ended
  // at it. A caller that splits a run to stop at an exact point (the gdb
  // stub on a replay) ends the slice here, as the whole run would have.
  bool stop_pending() const { return stop_requested_.load(std::memory_order_relaxed); }

  // True while the hart sits in WFI with no interrupt to wake it.
  bool waiting() const override { return wfi_; }
  // An interrupt is pending and enabled in mie (the WFI wake-up condition,
  // which ignores the global enable bits).
  bool wake_pending() const override { return (pending_interrupts() & mie_) != 0; }

  // Drops the LR reservation (the scheduler calls it when switching harts).
  void clear_reservation() override { resv_host_ = 0; }

  // For a VMM-provided SBI: the hart runs a supervisor kernel with no M-mode
  // firmware. Delegates every delegable exception and interrupt to S-mode,
  // lets S and U read the counters, and enters S-mode at `pc` with a0, a1 set
  // as the Linux boot protocol and SBI HSM hart_start define.
  void enter_supervisor(uint64_t pc, uint64_t a0, uint64_t a1);
  // Sets sip.SSIP (an SBI IPI), from any thread: through the pins, which
  // wake the hart if it sleeps in WFI.
  void raise_supervisor_software_interrupt() { pins_.set(HartIrqPins::kSsip, true); }
  // Drops all cached translations (SBI remote fences).
  void flush_translations() override { flush_tlbs(); }
  // Drops cached write pointers (guest memory's write-protect hook: dirty
  // logging restarted, or a page became shared).
  void flush_write_translations() override { flush_write_tlbs(); }

  // ---- harts on several host threads (smp_sync.hpp) ----
  // Joins the harts of one machine (before the first run()).
  void set_smp(SmpSync* smp) { smp_ = smp; }
  // True while the hart's thread may run guest code without serving its
  // requests first. The machine sets it (seq_cst, paired with its own flags).
  bool active() const { return active_.load(std::memory_order_seq_cst); }
  void set_active(bool on) {
    active_.store(on, std::memory_order_seq_cst);
    if (!on && smp_ != nullptr) smp_->notify();  // counts as served: waiters go on
  }
  uint64_t seen_code_epoch() const { return seen_code_epoch_.load(std::memory_order_acquire); }
  // Posts SmpSync request bits; returns the request's sequence number.
  uint64_t post_request(uint32_t what) {
    requests_.fetch_or(what, std::memory_order_seq_cst);
    const uint64_t seq = requested_.fetch_add(1, std::memory_order_seq_cst) + 1;
    if (smp_ != nullptr) smp_->notify();  // this hart may be waiting: it serves while it waits
    return seq;
  }
  uint64_t served_requests() const { return served_.load(std::memory_order_acquire); }
  // On the hart's own thread: catches up with the code epoch and does what
  // was requested. Also called while the hart waits inside an instruction
  // (an SBI remote fence, a fence.i): those go on with a refetch, as after a
  // fence.i, so a fence.i request is served there too, unless the hart is
  // inside fence_i() already (which waits itself): then it stays posted
  // until that one is done.
  void serve_requests();
  // Does what a request with `what` asks, at once (on the hart's own thread).
  void do_requests(uint32_t what);

  // ---- a user-mode process (src/user: `vessel exec`) ----
  // Resets the hart into U-mode at `pc` over the Sv39 page tables `satp`
  // names, with the FPU on and the counters readable from U-mode. From then
  // on an exception does not enter a trap handler: it ends run() (pc stays at
  // the instruction) and take_user_trap() reports it, so the caller emulates
  // the kernel (an ECALL is a system call, a page fault a SIGSEGV).
  void enter_user(uint64_t pc, uint64_t satp);
  struct UserTrap {
    uint64_t cause = 0;
    uint64_t tval = 0;
  };
  // The exception that ended the last run(), if one did (once).
  bool take_user_trap(UserTrap& trap) {
    if (!user_trap_pending_) return false;
    user_trap_pending_ = false;
    trap = user_trap_;
    return true;
  }

  // Called on ECALL from S-mode when set: an SBI implemented by the VMM.
  // Returns true if handled (the hart then continues after the ecall).
  std::function<bool(Hart&)> sbi_handler;

  // Architectural state: pc, x and fp (HartState) are public for the SBI,
  // loaders, snapshots and tests.
  unsigned id() const { return id_; }
  Priv priv() const { return priv_; }
  uint64_t instret() const override { return instret_; }

  uint64_t read_csr_raw(uint16_t number);  // for tests and debugging; no permission checks
  // For the gdb stub: a CSR write with the side effects an instruction's
  // would have (WARL rules, TLB flushes) but no permission check; false if
  // the CSR does not exist or is read-only. And a change of privilege level
  // (U, S or M), which also selects that level's TLBs.
  bool write_csr_debug(uint16_t number, uint64_t value) { return csr_write(number, value); }
  void set_priv_debug(Priv priv) {
    priv_ = priv;
    select_tlbs();
  }

  // Snapshot state (hart_state.cpp): pc, x, f/fcsr, privilege, instret, WFI,
  // the LR reservation and every CSR. Not the TLBs (load_state flushes them),
  // not the pins (the devices drive them) and not sbi_handler. load_state
  // checks each value against the rule a CSR write would apply and throws
  // state::StateError on anything this hart could not have reached; after a
  // throw the hart must be reset or discarded.
  static constexpr uint32_t kStateVersion = 2;
  void save_state(state::Writer& w) const override;
  void load_state(state::Reader& r) override;

  // Translates a guest virtual address as the current mode would for
  // `access`, without side effects on the TLB. Returns false on a fault.
  bool translate_debug(uint64_t va, Access access, uint64_t& pa);
  // Whether a supervisor store to `va` goes through a global mapping (a
  // leaf PTE with G set: the same in every address space, as a kernel's
  // own mappings are) in the current page table; its address in `pa`.
  // False with paging off, on a fault, or for a mapping of one address
  // space only.
  bool translate_global(uint64_t va, uint64_t& pa);
  bool paging() const { return (satp_ >> 60) != 0; }

 private:
  friend struct jit::Runtime;  // the translator's slow paths

  // The executors. interpret() also reports the budget it used (retired
  // instructions plus traps taken), which the translator's dispatcher needs
  // when it hands instructions to the interpreter; given `jumps_after`, it
  // also stops at the first taken branch or jump once that many instructions
  // ran, so that the dispatcher arrives at the starts of blocks.
  static constexpr uint64_t kNoJumpStop = ~uint64_t{0};
  uint64_t interpret(uint64_t budget, StopReason& stop, uint64_t* consumed = nullptr,
                     uint64_t jumps_after = kNoJumpStop);
  uint64_t run_translated(uint64_t budget, StopReason& stop);

  // Traps and interrupts (trap.cpp)
  void raise(uint64_t cause, uint64_t tval) {
    trap_cause_ = cause;
    trap_tval_ = tval;
  }
  void take_trap(uint64_t epc);
  bool take_interrupt();
  uint64_t pending_interrupts() const { return (mip_ | pins_.load()) & irq::kAll; }
  void do_mret();
  void do_sret();

  // CSRs (csr.cpp). Return false and raise illegal instruction on a fault.
  bool csr_read(uint16_t number, uint64_t& value);
  bool csr_write(uint16_t number, uint64_t value);
  bool csr_accessible(uint16_t number, bool write) const;
  // The value a CSRRS/CSRRC modifies: what was read, except that in mip only
  // the software-writable SEIP bit takes part, not the PLIC's signal
  // (privileged spec, "Machine Interrupt Registers").
  uint64_t csr_rmw_base(uint16_t number, uint64_t read_value) const {
    // STIP is treated the same way: vessel's own SBI drives it as a pin.
    constexpr uint64_t kPinBits = irq::kSeip | irq::kStip;
    if (number != csr::kMip) return read_value;
    return (read_value & ~kPinBits) | (mip_ & kPinBits);
  }
  uint64_t read_mstatus() const;
  void write_mstatus(uint64_t value);

  // Translation and memory access (mmu.cpp)
  // `leaf`, if given, receives the leaf PTE (paging on and no fault only).
  bool translate(uint64_t va, Access access, Priv eff, uint64_t& pa, bool update_ad = true,
                 uint64_t* leaf = nullptr);
  Priv data_priv() const;
  void select_tlbs();
  void flush_tlbs();
  void flush_write_tlbs();
  // The translator's jump caches: after a fence.i every jump into another
  // page goes through the dispatcher, which refreshes the page's code.
  void flush_jump_caches();
  // Drops cached write pointers if another hart flagged a code page since
  // this one last looked (smp_sync.hpp), and after marking one itself.
  void catch_up_code_epoch() {
    if (code_epoch_ != memory_.code_epoch()) [[unlikely]]
      sync_code_epoch();
  }
  void sync_code_epoch();
  // A fresh decode or translation reads the instructions of the page at
  // `gpa`: noted if a running hart may still store to it unseen.
  void note_code_read(uint64_t gpa) {
    if (smp_ != nullptr && memory_.code_epoch() > confirmed_epoch_) [[unlikely]]
      note_unconfirmed_read(gpa);
  }
  void note_unconfirmed_read(uint64_t gpa);
  // FENCE.I: sees every hart's stores to instructions from now on.
  void fence_i();
  bool fill_fetch(uint64_t va, FetchTlbEntry*& entry);
  bool load_slow(uint64_t va, unsigned size, uint64_t& value);
  bool store_slow(uint64_t va, unsigned size, uint64_t value);
  uint8_t* amo_address(uint64_t va, unsigned size, bool for_lr, uint64_t& pa);
  // LR, SC and AMOs (atomic.cpp), for both executors: `op` is LR_W/LR_D/
  // SC_W/SC_D/AMO_W/AMO_D, `amo` the AMO's operation. Sets `result` (the
  // value for rd) and returns true, or records a trap and returns false.
  bool atomic(Op op, AmoOp amo, uint64_t va, uint64_t src, uint64_t& result);
  bool load_phys(uint64_t pa, unsigned size, uint64_t& value, uint64_t va);
  bool store_phys(uint64_t pa, unsigned size, uint64_t value, uint64_t va);

  unsigned id_;
  GuestMemory& memory_;
  Bus& bus_;
  CodeCache& code_;
  const GuestClock& clock_;
  HartIrqPins& pins_;

  Priv priv_ = Priv::kMachine;
  uint64_t instret_ = 0;
  bool wfi_ = false;
  bool exact_budget_ = true;  // Vcpu::set_exact_budget
  std::atomic<bool> stop_requested_{false};
  uint64_t code_epoch_ = 0;  // GuestMemory::code_epoch() when write pointers were last dropped

  // Harts on several threads (smp_sync.hpp).
  SmpSync* smp_ = nullptr;
  std::atomic<bool> active_{false};
  std::atomic<uint64_t> seen_code_epoch_{0};
  std::atomic<uint32_t> requests_{0};
  std::atomic<uint64_t> requested_{0};
  std::atomic<uint64_t> served_{0};
  uint64_t confirmed_epoch_ = 0;  // every running hart had seen this one, when last asked
  // Pages read for decoding while some hart lagged behind the code epoch,
  // and the epoch all must reach before the next fence.i drops them.
  std::vector<uint64_t> unconfirmed_pages_;
  uint64_t unconfirmed_epoch_ = 0;
  bool in_fence_i_ = false;  // fence_i() is waiting for other harts
  Engine engine_ = Engine::kInterp;
  uint64_t jit_epoch_ = 0;  // the block cache's epoch this hart's jump caches match

  uint64_t trap_cause_ = 0;
  uint64_t trap_tval_ = 0;
  bool user_process_ = false;  // enter_user(): exceptions go to the caller
  bool user_trap_pending_ = false;
  UserTrap user_trap_;

  // CSR state (mstatus_ is in HartState)
  uint64_t medeleg_ = 0, mideleg_ = 0, mie_ = 0, mip_ = 0;
  uint64_t mtvec_ = 0, mscratch_ = 0, mepc_ = 0, mcause_ = 0, mtval_ = 0;
  uint64_t mcounteren_ = 0, menvcfg_ = 0, mcountinhibit_ = 0;
  uint64_t stvec_ = 0, sscratch_ = 0, sepc_ = 0, scause_ = 0, stval_ = 0;
  uint64_t scounteren_ = 0, senvcfg_ = 0, satp_ = 0;
  uint64_t cycle_offset_ = 0, instret_offset_ = 0;  // mcycle/minstret writes
  uint64_t pmpcfg_[8] = {}, pmpaddr_[64] = {};

  // TLBs, one per translation context so U<->S switches keep their entries:
  // 0 = M-mode (no translation), 1 = U, 2 = S with SUM=0, 3 = S with SUM=1.
  // The current contexts are HartState::fetch_tlb_ and data_tlb_.
  Tlb tlbs_[4];
};

}  // namespace vessel::rv
