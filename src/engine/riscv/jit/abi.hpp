// How generated code uses the host's registers (x86-64, System V).
//
//   rbp  the HartState* of the running hart (all guest state is [rbp + offset])
//   r15  the budget left (HartState::remaining_ while generated code runs)
//   r11  the current data TLB (HartState::data_tlb_), loaded on block entry
//   rax, rcx, rdx  scratch
//   rbx, r12, r13, r14, rsi, rdi, r8..r10  guest integer registers chosen per
//        block (translator.cpp); the caller-saved ones are reloaded after
//        every helper call
//
// The stack: the entry trampoline's frame holds, above [rsp] (scratch for
// the exit), kAddendSlots predicted TLB addends for loads in loops
// (Emitter::load); they are predictions checked against the TLB entry, so
// any value in them is safe.
//
// Between blocks every guest register is in HartState; a block loads the
// ones it caches on entry and stores the ones it changed before it leaves.
//
// F/D exception flags: inline SSE arithmetic leaves them in MXCSR's sticky
// bits, and they are ORed into fflags whenever generated code hands control
// to C++ (the exit trampoline, Runtime::fp), the only places that can look.
// So on entry MXCSR must hold no flag the guest has not accrued (the
// dispatcher resets it when it does) and round to nearest, the invariant
// fpu.cpp keeps for its own host path too.  The slow paths generated code calls
// (Runtime::load/store, the MMU, devices behind the bus) do no floating point,
// so they leave MXCSR's flags alone; one that did would have to save them.
#pragma once

#include <xbyak/xbyak.h>

#include <cstddef>

#include "engine/riscv/hart.hpp"

namespace vessel::rv::jit {

inline const Xbyak::Reg64& state_reg() {
  return Xbyak::util::rbp;
}
inline const Xbyak::Reg64& budget_reg() {
  return Xbyak::util::r15;
}

inline constexpr unsigned kAddendSlots = 8;
inline constexpr int32_t kFrameBytes = 8 + 8 * kAddendSlots;  // keeps rsp 16-byte aligned
static_assert(kFrameBytes % 16 == 8);
inline constexpr int32_t off_addend_slot(unsigned i) {
  return static_cast<int32_t>(8 + 8 * i);
}

// Byte offsets generated code uses.
inline constexpr int32_t kOffPc = offsetof(HartState, pc);
inline constexpr int32_t kOffMstatus = offsetof(HartState, mstatus_);
inline constexpr int32_t kOffFetchTlb = offsetof(HartState, fetch_tlb_);
inline constexpr int32_t kOffDataTlb = offsetof(HartState, data_tlb_);
inline constexpr int32_t kOffRemaining = offsetof(HartState, remaining_);
inline constexpr int32_t kOffChainSite = offsetof(HartState, chain_site_);
inline constexpr int32_t kOffResvHost = offsetof(HartState, resv_host_);
inline constexpr int32_t kOffResvValue = offsetof(HartState, resv_value_);
inline constexpr int32_t off_x(unsigned i) {
  return static_cast<int32_t>(offsetof(HartState, x) + 8 * i);
}
inline constexpr int32_t off_f(unsigned i) {
  return static_cast<int32_t>(offsetof(HartState, fp) + offsetof(FpState, f) + 8 * i);
}
inline constexpr int32_t kOffFflags = offsetof(HartState, fp) + offsetof(FpState, fflags);
inline constexpr int32_t kOffFrm = offsetof(HartState, fp) + offsetof(FpState, frm);
inline constexpr int32_t kOffTlbRead = offsetof(Tlb, read);
inline constexpr int32_t kOffTlbWrite = offsetof(Tlb, write);
inline constexpr int32_t kOffTlbJump = offsetof(Tlb, jump);
inline constexpr int32_t kOffTlbFetch = offsetof(Tlb, fetch);
inline constexpr int32_t kOffFetchVpage = offsetof(FetchTlbEntry, vpage);
inline constexpr int32_t kOffFetchHost = offsetof(FetchTlbEntry, host);
static_assert(sizeof(TlbEntry) == 16 && offsetof(TlbEntry, addend) == 8);
static_assert(sizeof(JumpCacheEntry) == 16 && offsetof(JumpCacheEntry, code) == 8);

}  // namespace vessel::rv::jit
