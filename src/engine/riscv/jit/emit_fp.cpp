// F/D instructions: inline where SSE is exact, Runtime::fp otherwise.
#include "engine/riscv/csr_numbers.hpp"
#include "engine/riscv/jit/emitter.hpp"
#include "engine/riscv/jit/runtime.hpp"

namespace vessel::rv::jit {

void Emitter::check_fp_state() {
  bool fp = false, dynamic_rounding = false;
  for (const Insn& i : insns_) {
    switch (i.d.op) {
      case Op::FLW:
      case Op::FLD:
      case Op::FSW:
      case Op::FSD: fp = true; break;
      case Op::FP:
        fp = true;
        dynamic_rounding = dynamic_rounding || (i.d.imm & 7) == 7;
        break;
      default: break;
    }
  }
  if (!fp) return;
  // Nothing is charged or written yet: the interpreter starts at the block's
  // first instruction.
  Label& other = label();
  g_.test(g_.dword[rbp + kOffMstatus], static_cast<uint32_t>(mstatus::kFs));
  g_.jz(other, Xbyak::CodeGenerator::T_NEAR);
  if (dynamic_rounding) {
    g_.cmp(g_.dword[rbp + kOffFrm], 0);
    g_.jne(other, Xbyak::CodeGenerator::T_NEAR);
  }
  cold([this, &other] {
    g_.L(other);
    set_pc(va_);
    g_.mov(eax, kExitInterpret);
    g_.jmp(cache_.exit_code(), Xbyak::CodeGenerator::T_NEAR);
  });
}

void Emitter::set_fs_dirty() {
  if (fs_dirty_) return;
  fs_dirty_ = true;
  g_.or_(g_.dword[rbp + kOffMstatus], static_cast<uint32_t>(mstatus::kFs));
}

void Emitter::fp_call(const DecodedInsn& d) {
  const uint64_t packed = uint64_t{d.aux} | (uint64_t(d.imm & 0xff) << 8) | (uint64_t{d.rd} << 16) |
                          (uint64_t{d.rs1} << 24) | (uint64_t{d.rs2} << 32) |
                          (uint64_t{d.rs3} << 40);
  g_.mov(rdi, rbp);
  g_.mov(rsi, packed);
  call(reinterpret_cast<const void*>(&Runtime::fp));
  Label& bad = label();
  g_.test(eax, eax);
  g_.jz(bad, Xbyak::CodeGenerator::T_NEAR);
  reload_after_call(fp_writes_x(static_cast<FpOp>(d.aux)) ? d.rd : 0);
  const size_t k = k_;
  cold([this, &bad, k] {
    g_.L(bad);
    // Registers were written back before the call and are unchanged.
    k_ = k;
    exit_here(kExitInterpret);
  });
}

bool Emitter::fp_inline(const DecodedInsn& d) {
  const auto op = static_cast<FpOp>(d.aux);
  switch (op) {
    case FpOp::FMV_X_D:
      fget(rax, d.rs1);
      put(d.rd, rax);
      return true;
    case FpOp::FMV_X_W:
      fget(rax, d.rs1);
      g_.movsxd(rax, eax);
      put(d.rd, rax);
      return true;
    case FpOp::FMV_D_X: fput(d.rd, get(d.rs1, rax)); return true;
    case FpOp::FMV_W_X: {
      const Reg64 a = get(d.rs1, rax);
      g_.mov(eax, a.cvt32());
      g_.mov(rcx, 0xffffffff00000000ull);
      g_.or_(rax, rcx);
      fput(d.rd, rax);
      return true;
    }
    case FpOp::FSGNJ_D:
    case FpOp::FSGNJN_D:
    case FpOp::FSGNJX_D:
      if (op == FpOp::FSGNJ_D && d.rs1 == d.rs2) {  // fmv.d
        if (fcached(d.rd)) {
          fget(fhost(d.rd), d.rs1);
          dirty_ |= fbit(d.rd);
        } else {
          fget(rax, d.rs1);
          fput(d.rd, rax);
        }
        return true;
      }
      fget(rax, d.rs1);
      fget(rcx, d.rs2);
      if (op == FpOp::FSGNJN_D) g_.not_(rcx);
      g_.shr(rcx, 63);
      g_.shl(rcx, 63);
      if (op == FpOp::FSGNJX_D) {
        g_.xor_(rax, rcx);
      } else {
        g_.btr(rax, 63);
        g_.or_(rax, rcx);
      }
      fput(d.rd, rax);
      return true;
    case FpOp::FEQ_D:
      // x86's quiet compare (ucomisd) raises invalid for a signalling NaN
      // only, its signalling one (comisd, below) for any NaN: exactly when
      // RISC-V raises NV for FEQ and FLT/FLE. The flag stays in MXCSR until
      // the block returns (abi.hpp). Unordered (ZF PF CF all set) is false.
      fget(xmm0, d.rs1);
      g_.ucomisd(xmm0, fsrc(d.rs2));
      g_.sete(al);
      g_.setnp(cl);
      g_.and_(al, cl);
      g_.movzx(eax, al);
      put(d.rd, rax);
      return true;
    case FpOp::FLT_D:
    case FpOp::FLE_D:
      // a < b as b > a ("above": CF and ZF clear), a <= b as b >= a (CF
      // clear); unordered sets CF, so both are false then.
      fget(xmm0, d.rs2);
      g_.comisd(xmm0, fsrc(d.rs1));
      if (op == FpOp::FLT_D) {
        g_.seta(al);
      } else {
        g_.setae(al);
      }
      g_.movzx(eax, al);
      put(d.rd, rax);
      return true;
    default: break;
  }
  const unsigned rm = static_cast<unsigned>(d.imm) & 7;
  if (rm != 0 && rm != 7) return false;
  using G = Xbyak::CodeGenerator;
  void (G::*arith)(const Xbyak::Xmm&, const Xbyak::Operand&) = nullptr;
  bool single = false;
  switch (op) {
    case FpOp::FADD_D: arith = &G::addsd; break;
    case FpOp::FSUB_D: arith = &G::subsd; break;
    case FpOp::FMUL_D: arith = &G::mulsd; break;
    case FpOp::FDIV_D: arith = &G::divsd; break;
    case FpOp::FSQRT_D: arith = &G::sqrtsd; break;
    case FpOp::FADD_S: arith = &G::addss, single = true; break;
    case FpOp::FSUB_S: arith = &G::subss, single = true; break;
    case FpOp::FMUL_S: arith = &G::mulss, single = true; break;
    case FpOp::FDIV_S: arith = &G::divss, single = true; break;
    case FpOp::FSQRT_S: arith = &G::sqrtss, single = true; break;
    default: return false;
  }
  const bool sqrt = op == FpOp::FSQRT_D || op == FpOp::FSQRT_S;
  const unsigned src2 = sqrt ? d.rs1 : d.rs2;
  Label& slow = label();
  Label& done = label();
  if (single) {  // both inputs NaN-boxed
    const auto check_boxed = [&](unsigned r) {
      if (fcached(r)) {
        g_.movq(rax, fhost(r));
        g_.shr(rax, 32);
        g_.cmp(eax, -1);
      } else {
        g_.cmp(g_.dword[rbp + off_f(r) + 4], -1);
      }
      g_.jne(slow, G::T_NEAR);
    };
    check_boxed(d.rs1);
    if (src2 != d.rs1) check_boxed(src2);
  }
  // xmm0 = f[rs1] OP f[rs2] (rd's register may be an input: a NaN result
  // goes to Runtime::fp, which needs the inputs).
  fget(xmm0, d.rs1);
  (g_.*arith)(xmm0, fsrc(src2));
  if (single) {
    g_.ucomiss(xmm0, xmm0);
  } else {
    g_.ucomisd(xmm0, xmm0);
  }
  g_.jp(slow, G::T_NEAR);        // a NaN: RISC-V's NaN rules are Runtime::fp's
  const uint64_t mask = dirty_;  // the slow path's, where f[rd] is not written yet
  if (single) {
    g_.movd(eax, xmm0);
    g_.mov(rcx, 0xffffffff00000000ull);
    g_.or_(rax, rcx);
    fput(d.rd, rax);
  } else {
    fput(d.rd, xmm0);
  }
  // The exception flags stay in MXCSR until the block returns (abi.hpp).
  g_.L(done);
  const DecodedInsn copy = d;
  const size_t k = k_;
  cold([this, &slow, &done, mask, copy, k] {
    g_.L(slow);
    writeback(mask);
    k_ = k;
    fp_call(copy);
    g_.jmp(done, G::T_NEAR);
  });
  return true;
}

}  // namespace vessel::rv::jit
