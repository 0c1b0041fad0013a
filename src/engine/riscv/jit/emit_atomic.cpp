// LR, SC and AMOs: the software TLB and one host atomic instruction inline,
// Runtime::atomic on a miss. The semantics are atomic.cpp's (an SC is a
// compare-and-swap against the value its LR read); x86-64's locked
// instructions are full fences, which covers the .aq and .rl bits.
#include "engine/riscv/jit/emitter.hpp"
#include "engine/riscv/jit/runtime.hpp"

namespace vessel::rv::jit {

void Emitter::atomic(const DecodedInsn& d) {
  using G = Xbyak::CodeGenerator;
  const bool word = d.op == Op::LR_W || d.op == Op::SC_W || d.op == Op::AMO_W;
  const unsigned size = word ? 4 : 8;
  const bool lr = d.op == Op::LR_W || d.op == Op::LR_D;
  const int32_t array = lr ? kOffTlbRead : kOffTlbWrite;
  // The slow path writes back what was dirty before this instruction (the
  // fast path's rd is not in its register there).
  const uint64_t mask = dirty_;
  const Reg64 va = get(d.rs1, rax);
  Label& miss = label();
  // Direct user memory: a host fault at an access below resumes here, with
  // the guest address still in rcx - base (va's register may be reused).
  Label& fault = label();
  const bool direct = this->direct();
  if (direct) {
    direct_check(va, miss);
    g_.test(va.cvt8(), size - 1);  // misaligned: the slow path raises it
    g_.jnz(miss, Xbyak::CodeGenerator::T_NEAR);
    g_.lea(rcx, g_.ptr[va + kTlbReg]);
  } else {
    tlb_check(va, array, size, miss);
    g_.mov(rcx, g_.qword[kTlbReg + rcx + array + 8]);
    g_.add(rcx, va);  // the host address
  }
  const auto site = [&] {
    if (direct) fault_site(fault);
  };
  // SAFETY (of the guest access): the entry maps this aligned access into
  // RAM, and a write entry exists only for a page that needs nothing from
  // GuestMemory::prepare_write.
  if (lr) {
    site();
    word ? g_.movsxd(rdx, g_.dword[rcx]) : g_.mov(rdx, g_.qword[rcx]);
    g_.mov(g_.qword[rbp + kOffResvHost], rcx);
    g_.mov(g_.qword[rbp + kOffResvValue], rdx);
    put(d.rd, rdx);
  } else {
    const Reg64 src = get(d.rs2, rdx);
    if (src.getIdx() != rdx.getIdx()) g_.mov(rdx, src);
    if (d.op == Op::SC_W || d.op == Op::SC_D) {
      // rd = 0 if this is the reserved address and the swap succeeds, else 1;
      // the reservation goes either way.
      Label& done = label();
      g_.cmp(rcx, g_.qword[rbp + kOffResvHost]);
      // Direct: the reservation goes after the swap, so that a swap which
      // faults on the host (a write-protected code page) still holds it in
      // the slow path, which then succeeds instead of failing for ever.
      if (!direct) g_.mov(g_.qword[rbp + kOffResvHost], 0);  // flags stay
      g_.jne(done);
      g_.mov(rax, g_.qword[rbp + kOffResvValue]);
      site();
      g_.lock();
      word ? g_.cmpxchg(g_.dword[rcx], edx) : g_.cmpxchg(g_.qword[rcx], rdx);
      g_.L(done);
      if (direct) g_.mov(g_.qword[rbp + kOffResvHost], 0);  // flags stay
      g_.setne(al);
      g_.movzx(eax, al);
      put(d.rd, rax);
    } else {
      Reg64 old = rdx;
      const auto amo = static_cast<AmoOp>(d.aux);
      if (amo == AmoOp::kAdd) {
        site();
        g_.lock();
        word ? g_.xadd(g_.dword[rcx], edx) : g_.xadd(g_.qword[rcx], rdx);
      } else if (amo == AmoOp::kSwap) {
        site();
        word ? g_.xchg(g_.dword[rcx], edx) : g_.xchg(g_.qword[rcx], rdx);  // locked
      } else {
        // A compare-and-swap loop with the new value in r11 (the TLB
        // pointer, saved: the only other register free here; direct, the
        // base, loaded again after: the stack must stay as the slow path
        // expects it at a fault site).
        old = rax;
        const Reg64 t = kTlbReg;
        if (!direct) g_.push(t);
        site();
        word ? g_.mov(eax, g_.dword[rcx]) : g_.mov(rax, g_.qword[rcx]);
        Label& again = label();
        g_.L(again);
        g_.mov(t, rax);
        // t = t OP src, at the access's size.
        const auto op = [&](void (G::*fn)(const Xbyak::Operand&, const Xbyak::Operand&)) {
          word ? (g_.*fn)(t.cvt32(), edx) : (g_.*fn)(t, rdx);
        };
        const auto cmov = [&](void (G::*fn)(const Xbyak::Reg&, const Xbyak::Operand&)) {
          word ? (g_.*fn)(t.cvt32(), edx) : (g_.*fn)(t, rdx);
        };
        switch (amo) {
          case AmoOp::kXor: op(&G::xor_); break;
          case AmoOp::kOr: op(&G::or_); break;
          case AmoOp::kAnd: op(&G::and_); break;
          default:
            // t = src where src is the one to keep.
            word ? g_.cmp(t.cvt32(), edx) : g_.cmp(t, rdx);
            switch (amo) {
              case AmoOp::kMin: cmov(&G::cmovg); break;
              case AmoOp::kMax: cmov(&G::cmovl); break;
              case AmoOp::kMinu: cmov(&G::cmova); break;
              default: cmov(&G::cmovb); break;  // kMaxu
            }
            break;
        }
        site();
        g_.lock();
        word ? g_.cmpxchg(g_.dword[rcx], t.cvt32()) : g_.cmpxchg(g_.qword[rcx], t);
        g_.jne(again);
        if (direct) {
          load_base_reg();
        } else {
          g_.pop(t);
        }
      }
      if (word) g_.movsxd(old, old.cvt32());
      put(d.rd, old);
    }
  }
  const size_t k = k_;
  const uint64_t next = insns_[k_].va + d.len;
  const uint64_t packed = static_cast<uint64_t>(d.op) | (uint64_t{d.aux} << 8) |
                          (uint64_t{d.rd} << 16) | (uint64_t{d.rs2} << 24);
  cold([this, &miss, &fault, mask, k, next, packed, va, direct] {
    Label& call_it = label();
    if (direct) {
      g_.L(fault);
      writeback(mask);
      g_.mov(rsi, rcx);
      g_.mov(rax, reinterpret_cast<uint64_t>(cache_.direct_base()));
      g_.sub(rsi, rax);
      g_.jmp(call_it, Xbyak::CodeGenerator::T_NEAR);
    }
    g_.L(miss);
    writeback(mask);
    g_.mov(rsi, va);
    g_.L(call_it);
    g_.mov(rdi, rbp);
    g_.mov(rdx, packed);
    call(reinterpret_cast<const void*>(&Runtime::atomic));
    exit_after_slow_store(k, next);
  });
}

}  // namespace vessel::rv::jit
