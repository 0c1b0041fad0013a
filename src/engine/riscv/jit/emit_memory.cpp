// Loads and stores: the software TLB inline, Runtime::load/store on a miss.
#include "engine/riscv/jit/emitter.hpp"
#include "engine/riscv/jit/runtime.hpp"

namespace vessel::rv::jit {

Reg64 Emitter::address(const DecodedInsn& d) {
  const Reg64 base = get(d.rs1, rax);
  if (d.imm == 0) return base;
  g_.lea(rax, g_.ptr[base + d.imm]);
  return rax;
}

void Emitter::tlb_check(const Reg64& va, int32_t array, unsigned size, Label& miss) {
  static_assert(kTlbEntries <= 4096 && sizeof(TlbEntry) == 16);
  g_.mov(ecx, va.cvt32());
  g_.shr(ecx, 12 - 4);  // ((va >> 12) % kTlbEntries) * 16
  g_.and_(ecx, (kTlbEntries - 1) << 4);
  g_.mov(rdx, va);
  g_.and_(rdx, static_cast<int32_t>(~uint32_t{0xfff} | (size - 1)));
  g_.cmp(rdx, g_.qword[kTlbReg + rcx + array]);
  g_.jne(miss, Xbyak::CodeGenerator::T_NEAR);
}

void Emitter::load_host(const Reg64& dst, const Reg64& va, const Reg64& addend, unsigned size,
                        bool sign) {
  const Reg32 dst32 = dst.cvt32();
  switch (size) {
    case 1:
      sign ? g_.movsx(dst, g_.byte[va + addend]) : g_.movzx(dst32, g_.byte[va + addend]);
      break;
    case 2:
      sign ? g_.movsx(dst, g_.word[va + addend]) : g_.movzx(dst32, g_.word[va + addend]);
      break;
    case 4:
      sign ? g_.movsxd(dst, g_.dword[va + addend]) : g_.mov(dst32, g_.dword[va + addend]);
      break;
    default: g_.mov(dst, g_.qword[va + addend]); break;
  }
}

void Emitter::tlb_load(const Reg64& va, unsigned size, bool sign, const Reg64& dst, Label& miss,
                       Label& done) {
  tlb_check(va, kOffTlbRead, size, miss);
  const auto addend = g_.qword[kTlbReg + rcx + kOffTlbRead + 8];
  if (chained_[k_] && addend_slots_ < kAddendSlots) {
    // The slot's addend is known long before the guest address (a loop's
    // accesses at one instruction mostly stay in one page), so the host
    // address is ready one add after the guest address, while the entry's
    // own addend (which the branch checks) loads beside it. A wrong guess
    // costs a mispredicted branch and puts the entry's addend in the slot.
    const auto slot = g_.qword[rsp + off_addend_slot(addend_slots_++)];
    Label& wrong = label();
    g_.mov(rdx, slot);
    g_.cmp(rdx, addend);
    g_.jne(wrong, Xbyak::CodeGenerator::T_NEAR);
    // SAFETY (of the guest access): rdx equals the addend of the entry that
    // maps this aligned access into RAM.
    load_host(dst, va, rdx, size, sign);
    cold([this, &wrong, &done, addend, slot, va, dst, size, sign] {
      g_.L(wrong);
      g_.mov(rdx, addend);
      g_.mov(slot, rdx);
      load_host(dst, va, rdx, size, sign);  // SAFETY: as in the fast path
      g_.jmp(done, Xbyak::CodeGenerator::T_NEAR);
    });
  } else {
    g_.mov(rdx, addend);
    // SAFETY (of the guest access): the entry maps this aligned access into RAM.
    load_host(dst, va, rdx, size, sign);
  }
}

Reg64 Emitter::load(const DecodedInsn& d, unsigned size, bool sign, const Reg64& dst,
                    const Xmm* fdst) {
  const Reg64 va = address(d);
  Label& miss = label();
  Label& done = label();
  if (direct()) {
    direct_check(va, miss);
    fault_site(miss);
    // SAFETY (of the guest access): va < the limit, so the access stays in
    // the reservation (with its guard page); the host page's protection is
    // the guest's, and a host fault here resumes at `miss`.
    if (fdst != nullptr) {
      g_.movsd(*fdst, g_.qword[va + kTlbReg]);
    } else {
      load_host(dst, va, kTlbReg, size, sign);
    }
  } else {
    tlb_load(va, size, sign, dst, miss, done);
  }
  g_.L(done);
  const bool xmm_after_done = fdst != nullptr && !direct();  // every path to done has it in dst
  if (xmm_after_done) g_.movq(*fdst, dst);
  const uint64_t mask = dirty_;
  const size_t k = k_;
  const uint64_t kind = size | (sign ? Runtime::kSigned : 0);
  cold([this, &miss, &done, mask, k, kind, va, dst, fdst, xmm_after_done] {
    g_.L(miss);
    writeback(mask);
    g_.mov(rsi, va);
    g_.mov(rdi, rbp);
    g_.mov(edx, static_cast<uint32_t>(kind));
    call(reinterpret_cast<const void*>(&Runtime::load));
    g_.test(rdx, rdx);
    trap_unless_nonzero(k);
    reload_after_call();
    if (fdst != nullptr && !xmm_after_done) {
      g_.movq(*fdst, rax);
    } else if (dst.getIdx() != rax.getIdx()) {
      g_.mov(dst, rax);
    }
    g_.jmp(done, Xbyak::CodeGenerator::T_NEAR);
  });
  return dst;
}

void Emitter::store(const DecodedInsn& d, unsigned size, bool fp) {
  const Reg64 va = address(d);
  Label& miss = label();
  // The host address is va + base.
  Reg64 base = rcx;
  if (direct()) {
    direct_check(va, miss);
    base = kTlbReg;
  } else {
    tlb_check(va, kOffTlbWrite, size, miss);
    g_.mov(rcx, g_.qword[kTlbReg + rcx + kOffTlbWrite + 8]);
  }
  Reg64 v = rdx;
  const bool from_xmm = fp && fcached(d.rs2);  // FSW/FSD straight from its SSE register
  if (fp && !from_xmm) {
    fget(rdx, d.rs2);
  } else if (!fp) {
    v = get(d.rs2, rdx);
  }
  // SAFETY (of the guest access): write entries exist only for RAM pages
  // that need nothing from GuestMemory::prepare_write. Direct: va < the
  // limit, the host page is writable only if the guest may write it and it
  // holds no code (else the store faults and resumes at `miss`).
  if (direct()) fault_site(miss);
  if (from_xmm) {
    size == 4 ? g_.movss(g_.dword[va + base], fhost(d.rs2))
              : g_.movsd(g_.qword[va + base], fhost(d.rs2));
  } else {
    switch (size) {
      case 1: g_.mov(g_.byte[va + base], v.cvt8()); break;
      case 2: g_.mov(g_.word[va + base], v.cvt16()); break;
      case 4: g_.mov(g_.dword[va + base], v.cvt32()); break;
      default: g_.mov(g_.qword[va + base], v); break;
    }
  }
  const uint64_t mask = dirty_;
  const size_t k = k_;
  const uint8_t rs2 = d.rs2;
  const uint64_t next = insns_[k_].va + d.len;
  cold([this, &miss, mask, k, rs2, fp, size, next, va] {
    g_.L(miss);
    writeback(mask);
    g_.mov(rsi, va);
    if (fp) {
      g_.mov(rdx, g_.qword[rbp + off_f(rs2)]);
    } else if (rs2 == 0) {
      g_.xor_(edx, edx);
    } else {
      g_.mov(rdx, g_.qword[rbp + off_x(rs2)]);
    }
    g_.mov(rdi, rbp);
    g_.mov(ecx, size);
    call(reinterpret_cast<const void*>(&Runtime::store));
    exit_after_slow_store(k, next);
  });
}

void Emitter::trap_unless_nonzero(size_t k) {
  Label& ok = label();
  g_.jnz(ok);
  k_ = k;
  exit_here(kExitTrap);
  g_.L(ok);
}

void Emitter::exit_after_slow_store(size_t k, uint64_t next) {
  g_.test(eax, eax);
  trap_unless_nonzero(k);
  g_.add(budget_reg(), static_cast<uint32_t>(insns_.size() - k - 1));
  set_pc(next);
  g_.mov(eax, kExitLookup);
  g_.jmp(cache_.exit_code(), Xbyak::CodeGenerator::T_NEAR);
}

}  // namespace vessel::rv::jit
