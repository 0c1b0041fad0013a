// One instruction at a time: the integer ISA (RV64IM, Zba, Zbb, Zbs).
#include <cstdlib>

#include "engine/riscv/jit/emitter.hpp"
#include "engine/riscv/jit/runtime.hpp"

namespace vessel::rv::jit {

void Emitter::operands_rax_rcx(const DecodedInsn& d) {
  const Reg64 b = get(d.rs2, rcx);
  if (b.getIdx() != rcx.getIdx()) g_.mov(rcx, b);
  const Reg64 a = get(d.rs1, rax);
  if (a.getIdx() != rax.getIdx()) g_.mov(rax, a);
}

void Emitter::set_cc(const DecodedInsn& d, bool imm,
                     void (Xbyak::CodeGenerator::*setcc)(const Xbyak::Operand&)) {
  const Reg64 a = get(d.rs1, rax);
  g_.xor_(edx, edx);
  if (imm) {
    g_.cmp(a, d.imm);
  } else {
    const Reg64 b = get(d.rs2, rcx);
    g_.cmp(a, b);
  }
  (g_.*setcc)(dl);
  put(d.rd, rdx);
}

void Emitter::shift_var(const DecodedInsn& d, bool word,
                        void (Xbyak::CodeGenerator::*op)(const Xbyak::Operand&,
                                                         const Xbyak::Reg8&)) {
  operands_rax_rcx(d);  // the count in cl; x86 masks it as RISC-V does
  if (word) {
    (g_.*op)(eax, cl);
    g_.movsxd(rax, eax);
  } else {
    (g_.*op)(rax, cl);
  }
  put(d.rd, rax);
}

void Emitter::shift_imm(const DecodedInsn& d, bool word,
                        void (Xbyak::CodeGenerator::*op)(const Xbyak::Operand&, int)) {
  unary_in(d, [&](const Reg64& t) {
    if (word) {
      (g_.*op)(t.cvt32(), d.imm);
      // A logical right shift by 1..31 leaves bit 31 clear, and writing the
      // 32-bit register has cleared the upper half.
      if (d.op != Op::SRLIW || d.imm == 0) g_.movsxd(t, t.cvt32());
    } else {
      (g_.*op)(t, d.imm);
    }
  });
}

bool Emitter::copies_operand(const DecodedInsn& d) {
  if (d.rs1 != 0 && d.rs2 != 0) return false;
  put(d.rd, get(d.rs1 == 0 ? d.rs2 : d.rs1, target(d.rd)));
  return true;
}

bool Emitter::shift_add(const Insn& i) {
  const DecodedInsn& d = i.d;
  if (k_ + 1 >= insns_.size() || d.imm < 1 || d.imm > 3 || d.rd >= 32 || d.rs1 == 0) return false;
  if (is_inner_target(k_ + 1)) return false;  // a branch arrives between the two
  const DecodedInsn& add = insns_[k_ + 1].d;
  if (add.op != Op::ADD || add.rd != d.rd) return false;
  const unsigned other = add.rs1 == d.rd ? add.rs2 : add.rs2 == d.rd ? add.rs1 : d.rd;
  if (other == d.rd) return false;  // the ADD does not read the shifted value once
  // x[rd] = x[other] + (x[rs1] << imm); the shifted value is never seen.
  const Reg64 t = target(d.rd);
  const Reg64 b = get(other, rcx);
  const Reg64 a = get(d.rs1, rax);
  g_.lea(t, g_.ptr[b + a * (1 << d.imm)]);
  put(d.rd, t);
  ++k_;
  return true;
}

void Emitter::select(const DecodedInsn& d,
                     void (Xbyak::CodeGenerator::*cmov)(const Xbyak::Reg&, const Xbyak::Operand&)) {
  operands_rax_rcx(d);
  g_.cmp(rax, rcx);
  (g_.*cmov)(rax, rcx);
  put(d.rd, rax);
}

void Emitter::divide(const DecodedInsn& d, bool is_signed, bool rem, bool word) {
  operands_rax_rcx(d);
  Label& zero = label();
  Label& minus_one = label();
  Label& done = label();
  const Reg64 a = rax, b = rcx;
  if (word) {
    g_.test(b.cvt32(), b.cvt32());
  } else {
    g_.test(b, b);
  }
  g_.jz(zero);
  if (is_signed) {
    if (word) {
      g_.cmp(b.cvt32(), -1);
    } else {
      g_.cmp(b, -1);
    }
    g_.je(minus_one);
  }
  if (word) {
    if (is_signed) {
      g_.cdq();
      g_.idiv(b.cvt32());
    } else {
      g_.xor_(edx, edx);
      g_.div(b.cvt32());
    }
    g_.movsxd(rax, rem ? edx : eax);
  } else {
    if (is_signed) {
      g_.cqo();
      g_.idiv(b);
    } else {
      g_.xor_(edx, edx);
      g_.div(b);
    }
    if (rem) g_.mov(rax, rdx);
  }
  g_.jmp(done);
  g_.L(zero);  // quotient all ones, remainder the dividend
  if (rem) {
    if (word) g_.movsxd(rax, eax);
  } else {
    g_.mov(rax, -1);
  }
  if (is_signed) {
    g_.jmp(done);
    g_.L(minus_one);  // -a (the overflow case wraps to itself), remainder 0
    if (rem) {
      g_.xor_(eax, eax);
    } else if (word) {
      g_.neg(eax);
      g_.movsxd(rax, eax);
    } else {
      g_.neg(a);
    }
  }
  g_.L(done);
  put(d.rd, rax);
}

void Emitter::csr(const Insn& i) {
  using G = Xbyak::CodeGenerator;
  const DecodedInsn& d = i.d;
  const uint64_t packed = static_cast<uint64_t>(d.op) | (uint64_t(d.imm & 0xfff) << 8) |
                          (uint64_t{d.rd} << 24) | (uint64_t{d.rs1} << 32);
  writeback();  // Runtime::csr reads x[rs1] and writes x[rd] in HartState
  g_.mov(rdi, rbp);
  g_.mov(rsi, packed);
  call(reinterpret_cast<const void*>(&Runtime::csr));
  Label& other = label();
  g_.cmp(eax, 1);
  g_.jne(other, G::T_NEAR);
  reload_after_call(d.rd);
  const size_t k = k_;
  const uint64_t next = i.va + d.len;
  cold([this, &other, k, next] {
    g_.L(other);
    Label& retired = label();
    g_.test(eax, eax);
    g_.jnz(retired, G::T_NEAR);
    k_ = k;
    exit_here(kExitInterpret);  // illegal: the interpreter raises it
    g_.L(retired);              // it changed what the block relies on
    g_.add(budget_reg(), static_cast<uint32_t>(insns_.size() - k - 1));
    set_pc(next);
    g_.mov(eax, kExitLookup);
    g_.jmp(cache_.exit_code(), G::T_NEAR);
  });
}

bool Emitter::emit_insn(const Insn& i) {
  using G = Xbyak::CodeGenerator;
  const DecodedInsn& d = i.d;
  switch (d.op) {
    case Op::NOP:
    case Op::FENCE:
      if (fence_orders_store_load(d.imm)) g_.mfence();  // decoded_insn.hpp
      return false;
    case Op::LR_W:
    case Op::LR_D:
    case Op::SC_W:
    case Op::SC_D:
    case Op::AMO_W:
    case Op::AMO_D: atomic(d); return false;
    case Op::CSRRW:
    case Op::CSRRS:
    case Op::CSRRC:
    case Op::CSRRWI:
    case Op::CSRRSI:
    case Op::CSRRCI: csr(i); return false;
    case Op::LUI:
    case Op::LI:
      g_.mov(rax, static_cast<int64_t>(d.imm));
      put(d.rd, rax);
      return false;
    case Op::AUIPC:
      g_.mov(rax, i.va + static_cast<int64_t>(d.imm));
      put(d.rd, rax);
      return false;
    case Op::MV: {
      const Reg64 a = get(d.rs1, rax);
      put(d.rd, a);
      return false;
    }
    case Op::JAL:
      if (d.rd != kZeroSink) {
        g_.mov(rax, i.va + d.len);
        put(d.rd, rax);
      }
      if (k_ + 1 < insns_.size()) return false;  // the block goes on at the target (translator.cpp)
      writeback();
      exit_to(i.va + static_cast<int64_t>(d.imm));
      return true;
    case Op::JALR: {
      const Reg64 base = get(d.rs1, rax);
      g_.lea(rax, g_.ptr[base + d.imm]);
      g_.and_(rax, -2);
      g_.mov(rcx, i.va + d.len);
      put(d.rd, rcx);
      writeback();
      g_.mov(g_.qword[rbp + kOffPc], rax);
      jump_through_cache();
      return true;
    }
    case Op::BEQ: return branch(i, &G::je, &G::jne);
    case Op::BNE: return branch(i, &G::jne, &G::je);
    case Op::BLT: return branch(i, &G::jl, &G::jge);
    case Op::BGE: return branch(i, &G::jge, &G::jl);
    case Op::BLTU: return branch(i, &G::jb, &G::jae);
    case Op::BGEU: return branch(i, &G::jae, &G::jb);

    case Op::LB: put(d.rd, load(d, 1, true, target(d.rd))); return false;
    case Op::LH: put(d.rd, load(d, 2, true, target(d.rd))); return false;
    case Op::LW: put(d.rd, load(d, 4, true, target(d.rd))); return false;
    case Op::LD: put(d.rd, load(d, 8, false, target(d.rd))); return false;
    case Op::LBU: put(d.rd, load(d, 1, false, target(d.rd))); return false;
    case Op::LHU: put(d.rd, load(d, 2, false, target(d.rd))); return false;
    case Op::LWU: put(d.rd, load(d, 4, false, target(d.rd))); return false;
    case Op::SB: store(d, 1, false); return false;
    case Op::SH: store(d, 2, false); return false;
    case Op::SW: store(d, 4, false); return false;
    case Op::SD: store(d, 8, false); return false;

    case Op::ADDI: {
      const Reg64 t = target(d.rd);
      const Reg64 a = get(d.rs1, t);
      g_.lea(t, g_.ptr[a + d.imm]);
      put(d.rd, t);
      return false;
    }
    case Op::SLTI: set_cc(d, true, &G::setl); return false;
    case Op::SLTIU: set_cc(d, true, &G::setb); return false;
    case Op::XORI: unary_in(d, [&](const Reg64& t) { g_.xor_(t, d.imm); }); return false;
    case Op::ORI: unary_in(d, [&](const Reg64& t) { g_.or_(t, d.imm); }); return false;
    case Op::ANDI: unary_in(d, [&](const Reg64& t) { g_.and_(t, d.imm); }); return false;
    case Op::SLLI:
      if (!shift_add(i)) shift_imm(d, false, &G::shl);
      return false;
    case Op::SRLI: shift_imm(d, false, &G::shr); return false;
    case Op::SRAI: shift_imm(d, false, &G::sar); return false;
    case Op::ADD:
      if (copies_operand(d)) return false;
      binary_in(d, [&](const Reg64& t, const Reg64& b) { g_.add(t, b); });
      return false;
    case Op::SUB: binary_in(d, [&](const Reg64& t, const Reg64& b) { g_.sub(t, b); }); return false;
    case Op::SLL: shift_var(d, false, &G::shl); return false;
    case Op::SLT: set_cc(d, false, &G::setl); return false;
    case Op::SLTU: set_cc(d, false, &G::setb); return false;
    case Op::XOR:
      if (copies_operand(d)) return false;
      binary_in(d, [&](const Reg64& t, const Reg64& b) { g_.xor_(t, b); });
      return false;
    case Op::SRL: shift_var(d, false, &G::shr); return false;
    case Op::SRA: shift_var(d, false, &G::sar); return false;
    case Op::OR:
      if (copies_operand(d)) return false;
      binary_in(d, [&](const Reg64& t, const Reg64& b) { g_.or_(t, b); });
      return false;
    case Op::AND:
      binary_in(d, [&](const Reg64& t, const Reg64& b) { g_.and_(t, b); });
      return false;
    case Op::ADDIW:
      if (d.imm == 0 && known_sext32(d.rs1)) {  // sext.w of what is already
        put(d.rd, get(d.rs1, target(d.rd)));
        return false;
      }
      unary_in(d, [&](const Reg64& t) {
        if (d.imm != 0) g_.add(t.cvt32(), d.imm);
        g_.movsxd(t, t.cvt32());
      });
      return false;
    case Op::SLLIW: shift_imm(d, true, &G::shl); return false;
    case Op::SRLIW: shift_imm(d, true, &G::shr); return false;
    case Op::SRAIW: shift_imm(d, true, &G::sar); return false;
    case Op::ADDW:
      binary_in32(d, [&](const Reg64& t, const Reg64& b) { g_.add(t.cvt32(), b.cvt32()); });
      return false;
    case Op::SUBW:
      binary_in32(d, [&](const Reg64& t, const Reg64& b) { g_.sub(t.cvt32(), b.cvt32()); });
      return false;
    case Op::SLLW: shift_var(d, true, &G::shl); return false;
    case Op::SRLW: shift_var(d, true, &G::shr); return false;
    case Op::SRAW: shift_var(d, true, &G::sar); return false;

    case Op::MUL:
      binary_in(d, [&](const Reg64& t, const Reg64& b) { g_.imul(t, b); });
      return false;
    case Op::MULW: binary32(d, [&](const Reg64& b) { g_.imul(eax, b.cvt32()); }); return false;
    case Op::MULH:
    case Op::MULHU: {
      operands_rax_rcx(d);
      if (d.op == Op::MULH) {
        g_.imul(rcx);
      } else {
        g_.mul(rcx);
      }
      put(d.rd, rdx);
      return false;
    }
    case Op::MULHSU: {
      // signed a * unsigned b: the unsigned high part, minus b when a < 0.
      operands_rax_rcx(d);
      g_.push(rax);  // keeps the 16-byte alignment irrelevant: no call here
      g_.mul(rcx);
      g_.pop(rax);
      g_.sar(rax, 63);
      g_.and_(rax, rcx);
      g_.sub(rdx, rax);
      put(d.rd, rdx);
      return false;
    }
    case Op::DIV: divide(d, true, false, false); return false;
    case Op::DIVU: divide(d, false, false, false); return false;
    case Op::REM: divide(d, true, true, false); return false;
    case Op::REMU: divide(d, false, true, false); return false;
    case Op::DIVW: divide(d, true, false, true); return false;
    case Op::DIVUW: divide(d, false, false, true); return false;
    case Op::REMW: divide(d, true, true, true); return false;
    case Op::REMUW: divide(d, false, true, true); return false;

    case Op::FLW:
    case Op::FLD: {
      const bool single = d.op == Op::FLW;
      if (!single && fcached(d.rd)) {
        load(d, 8, false, rax, &fhost(d.rd));
        dirty_ |= fbit(d.rd);
        set_fs_dirty();
        return false;
      }
      load(d, single ? 4 : 8, false);
      if (single) {
        g_.mov(rcx, 0xffffffff00000000ull);
        g_.or_(rax, rcx);
      }
      fput(d.rd, rax);
      set_fs_dirty();
      return false;
    }
    case Op::FSW: store(d, 4, true); return false;
    case Op::FSD: store(d, 8, true); return false;
    case Op::FP:
      if (!fp_inline(d)) {
        writeback();  // the helper reads x[rs1] for conversions from integers
        fp_call(d);
      }
      set_fs_dirty();
      return false;

    case Op::SH1ADD:
    case Op::SH2ADD:
    case Op::SH3ADD: {
      const int scale = d.op == Op::SH1ADD ? 2 : d.op == Op::SH2ADD ? 4 : 8;
      const Reg64 b = get(d.rs2, rcx);
      const Reg64 a = get(d.rs1, rax);
      g_.lea(rax, g_.ptr[b + a * scale]);
      put(d.rd, rax);
      return false;
    }
    case Op::ADD_UW:
    case Op::SH1ADD_UW:
    case Op::SH2ADD_UW:
    case Op::SH3ADD_UW: {
      const int scale = d.op == Op::ADD_UW      ? 1
                        : d.op == Op::SH1ADD_UW ? 2
                        : d.op == Op::SH2ADD_UW ? 4
                                                : 8;
      const Reg64 b = get(d.rs2, rcx);
      const Reg64 a = get(d.rs1, rax);
      g_.mov(eax, a.cvt32());  // zero-extends
      g_.lea(rax, g_.ptr[b + rax * scale]);
      put(d.rd, rax);
      return false;
    }
    case Op::SLLI_UW:
      unary(d, [&] {
        g_.mov(eax, eax);
        g_.shl(rax, d.imm);
      });
      return false;
    case Op::ANDN:
      binary(d, [&](const Reg64& b) {
        g_.mov(rdx, b);
        g_.not_(rdx);
        g_.and_(rax, rdx);
      });
      return false;
    case Op::ORN:
      binary(d, [&](const Reg64& b) {
        g_.mov(rdx, b);
        g_.not_(rdx);
        g_.or_(rax, rdx);
      });
      return false;
    case Op::XNOR:
      binary(d, [&](const Reg64& b) {
        g_.xor_(rax, b);
        g_.not_(rax);
      });
      return false;
    case Op::CLZ:
      unary(d, [&] {
        g_.mov(ecx, 127);
        g_.bsr(rax, rax);
        g_.cmovz(rax, rcx);
        g_.xor_(rax, 63);
      });
      return false;
    case Op::CLZW:
      unary(d, [&] {
        g_.mov(ecx, 63);
        g_.bsr(eax, eax);
        g_.cmovz(eax, ecx);
        g_.xor_(eax, 31);
      });
      return false;
    case Op::CTZ:
      unary(d, [&] {
        g_.mov(ecx, 64);
        g_.bsf(rax, rax);
        g_.cmovz(rax, rcx);
      });
      return false;
    case Op::CTZW:
      unary(d, [&] {
        g_.mov(ecx, 32);
        g_.bsf(eax, eax);
        g_.cmovz(eax, ecx);
      });
      return false;
    case Op::CPOP: unary(d, [&] { g_.popcnt(rax, rax); }); return false;
    case Op::CPOPW: unary(d, [&] { g_.popcnt(eax, eax); }); return false;
    case Op::MAX: select(d, &G::cmovl); return false;  // a < b: take b
    case Op::MAXU: select(d, &G::cmovb); return false;
    case Op::MIN: select(d, &G::cmovg); return false;  // a > b: take b
    case Op::MINU: select(d, &G::cmova); return false;
    case Op::SEXT_B: unary(d, [&] { g_.movsx(rax, al); }); return false;
    case Op::SEXT_H: unary(d, [&] { g_.movsx(rax, ax); }); return false;
    case Op::ZEXT_H: unary(d, [&] { g_.movzx(eax, ax); }); return false;
    case Op::ROL: shift_var(d, false, &G::rol); return false;
    case Op::ROR: shift_var(d, false, &G::ror); return false;
    case Op::ROLW: shift_var(d, true, &G::rol); return false;
    case Op::RORW: shift_var(d, true, &G::ror); return false;
    case Op::RORI: shift_imm(d, false, &G::ror); return false;
    case Op::RORIW: shift_imm(d, true, &G::ror); return false;
    case Op::ORC_B:
      unary(d, [&] {
        // In general registers (xmm1..15 hold f registers): t = the top bit
        // of every nonzero byte, ((x & 0x7f..) + 0x7f..) | x, masked; each
        // such bit times 0xff, (t >> 7) * 256 - (t >> 7), is orc.b.
        g_.mov(rcx, 0x7f7f7f7f7f7f7f7full);
        g_.mov(rdx, rax);
        g_.and_(rdx, rcx);
        g_.add(rdx, rcx);
        g_.or_(rdx, rax);
        g_.not_(rcx);
        g_.and_(rdx, rcx);
        g_.mov(rax, rdx);
        g_.shr(rax, 7);
        g_.add(rdx, rdx);
        g_.sub(rdx, rax);
        g_.mov(rax, rdx);
      });
      return false;
    case Op::REV8: unary(d, [&] { g_.bswap(rax); }); return false;
    case Op::BCLR:
      operands_rax_rcx(d);
      g_.btr(rax, rcx);
      put(d.rd, rax);
      return false;
    case Op::BSET:
      operands_rax_rcx(d);
      g_.bts(rax, rcx);
      put(d.rd, rax);
      return false;
    case Op::BINV:
      operands_rax_rcx(d);
      g_.btc(rax, rcx);
      put(d.rd, rax);
      return false;
    case Op::BEXT:
      operands_rax_rcx(d);
      g_.shr(rax, cl);
      g_.and_(eax, 1);
      put(d.rd, rax);
      return false;
    case Op::BCLRI: unary(d, [&] { g_.btr(rax, d.imm); }); return false;
    case Op::BSETI: unary(d, [&] { g_.bts(rax, d.imm); }); return false;
    case Op::BINVI: unary(d, [&] { g_.btc(rax, d.imm); }); return false;
    case Op::BEXTI:
      unary(d, [&] {
        g_.shr(rax, d.imm);
        g_.and_(eax, 1);
      });
      return false;
    default: break;
  }
  // Not reached: scan() admits only the ops above.
  std::abort();
}

}  // namespace vessel::rv::jit
