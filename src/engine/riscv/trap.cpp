// Trap entry and return (privileged spec: "Machine-Mode Privileged
// Instructions", mcause/scause, medeleg/mideleg, mstatus stacking).
#include "engine/riscv/csr_numbers.hpp"
#include "engine/riscv/hart.hpp"

namespace vessel::rv {

namespace {
uint64_t vector_target(uint64_t tvec, uint64_t cause) {
  const uint64_t base = tvec & ~uint64_t{3};
  const bool interrupt = (cause & cause::kInterrupt) != 0;
  if ((tvec & 3) == 1 && interrupt) return base + 4 * (cause & ~cause::kInterrupt);
  return base;
}
}  // namespace

// Delivers the trap recorded by raise() (trap_cause_, trap_tval_) for the
// instruction at `epc`.
void Hart::take_trap(uint64_t epc) {
  const uint64_t cause = trap_cause_;
  const bool interrupt = (cause & cause::kInterrupt) != 0;
  const uint64_t code = cause & ~cause::kInterrupt;
  const uint64_t deleg = interrupt ? mideleg_ : medeleg_;
  wfi_ = false;
  if (user_process_) {
    // The emulated kernel lives outside the hart: hand the trap to run()'s
    // caller, which sees stop_requested_ at the next instruction boundary.
    user_trap_ = UserTrap{cause, trap_tval_};
    user_trap_pending_ = true;
    pc = epc;
    stop_requested_.store(true, std::memory_order_relaxed);
    return;
  }
  if (priv_ != Priv::kMachine && code < 64 && ((deleg >> code) & 1) != 0) {
    scause_ = cause;
    sepc_ = epc;
    stval_ = trap_tval_;
    uint64_t s = mstatus_;
    s = (s & ~mstatus::kSpie) | ((s & mstatus::kSie) != 0 ? mstatus::kSpie : 0);
    s &= ~mstatus::kSie;
    s = (s & ~mstatus::kSpp) | (priv_ == Priv::kSupervisor ? mstatus::kSpp : 0);
    mstatus_ = s;
    priv_ = Priv::kSupervisor;
    pc = vector_target(stvec_, cause);
  } else {
    mcause_ = cause;
    mepc_ = epc;
    mtval_ = trap_tval_;
    uint64_t s = mstatus_;
    s = (s & ~mstatus::kMpie) | ((s & mstatus::kMie) != 0 ? mstatus::kMpie : 0);
    s &= ~mstatus::kMie;
    s = (s & ~mstatus::kMpp) | (static_cast<uint64_t>(priv_) << mstatus::kMppShift);
    mstatus_ = s;
    priv_ = Priv::kMachine;
    pc = vector_target(mtvec_, cause);
  }
  select_tlbs();
}

// Takes the highest-priority pending and enabled interrupt, if any
// (M-level first, then by MEI, MSI, MTI, SEI, SSI, STI). Returns true if one
// was taken.
bool Hart::take_interrupt() {
  const uint64_t pending = pending_interrupts() & mie_;
  if (pending == 0) return false;
  const bool mie = (mstatus_ & mstatus::kMie) != 0;
  const bool sie = (mstatus_ & mstatus::kSie) != 0;
  const uint64_t m_pending = pending & ~mideleg_;
  const uint64_t s_pending = pending & mideleg_;
  uint64_t enabled = 0;
  if (priv_ < Priv::kMachine || mie) enabled |= m_pending;
  if (priv_ < Priv::kSupervisor || (priv_ == Priv::kSupervisor && sie)) enabled |= s_pending;
  if (enabled == 0) return false;
  // Interrupts for M-mode come before those delegated to S-mode; within a
  // level the spec's fixed order applies.
  if ((enabled & m_pending) != 0) enabled &= m_pending;
  static constexpr unsigned kOrder[] = {11, 3, 7, 9, 1, 5};
  for (unsigned bit : kOrder) {
    if ((enabled >> bit) & 1) {
      raise(cause::kInterrupt | bit, 0);
      take_trap(pc);
      return true;
    }
  }
  return false;
}

void Hart::do_mret() {
  uint64_t s = mstatus_;
  const auto prev = static_cast<Priv>((s & mstatus::kMpp) >> mstatus::kMppShift);
  s = (s & ~mstatus::kMie) | ((s & mstatus::kMpie) != 0 ? mstatus::kMie : 0);
  s |= mstatus::kMpie;
  s &= ~mstatus::kMpp;  // MPP = U
  if (prev != Priv::kMachine) s &= ~mstatus::kMprv;
  mstatus_ = s;
  priv_ = prev;
  pc = mepc_;
  select_tlbs();
}

void Hart::do_sret() {
  uint64_t s = mstatus_;
  const Priv prev = (s & mstatus::kSpp) != 0 ? Priv::kSupervisor : Priv::kUser;
  s = (s & ~mstatus::kSie) | ((s & mstatus::kSpie) != 0 ? mstatus::kSie : 0);
  s |= mstatus::kSpie;
  s &= ~mstatus::kSpp;
  s &= ~mstatus::kMprv;  // returning to a mode below M
  mstatus_ = s;
  priv_ = prev;
  pc = sepc_;
  select_tlbs();
}

}  // namespace vessel::rv
