#include "engine/riscv/jit/translator.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <functional>
#include <vector>

#include "engine/riscv/csr_numbers.hpp"
#include "engine/riscv/decoder.hpp"
#include "engine/riscv/jit/abi.hpp"
#include "engine/riscv/jit/runtime.hpp"

namespace vessel::rv::jit {

namespace {

using Xbyak::Label;
using Xbyak::Reg32;
using Xbyak::Reg64;
using namespace Xbyak::util;

// Host registers that hold guest registers, callee-saved ones first (they
// survive helper calls).
const std::array<Reg64, 9> kCacheRegs = {rbx, r12, r13, r14, rsi, rdi, r8, r9, r10};
constexpr unsigned kCalleeSaved = 4;
// The current data TLB (HartState::data_tlb_), which nothing in a block changes.
const Reg64& kTlbReg = r11;

struct Insn {
  DecodedInsn d;
  uint64_t va;
};

// Whether `d` writes x[rd] (as opposed to an f register, memory or nothing).
bool writes_x(const DecodedInsn& d) {
  switch (d.op) {
    case Op::NOP:
    case Op::FENCE:
    case Op::FENCE_I:
    case Op::SB:
    case Op::SH:
    case Op::SW:
    case Op::SD:
    case Op::FSW:
    case Op::FSD:
    case Op::FLW:
    case Op::FLD:
    case Op::BEQ:
    case Op::BNE:
    case Op::BLT:
    case Op::BGE:
    case Op::BLTU:
    case Op::BGEU: return false;
    case Op::FP: return fp_writes_x(static_cast<FpOp>(d.aux));
    default: return true;
  }
}

// Which of x[rs1], x[rs2] `d` reads, as a mask of register numbers. The
// fields also hold immediate bits in some formats, so this must not just
// take both (it decides which registers a block keeps in host registers).
uint32_t x_reads(const DecodedInsn& d) {
  const uint32_t rs1 = d.rs1 < 32 ? 1u << d.rs1 : 0;
  const uint32_t rs2 = d.rs2 < 32 ? 1u << d.rs2 : 0;
  uint32_t mask = 0;
  switch (d.op) {
    case Op::LUI:
    case Op::AUIPC:
    case Op::LI:
    case Op::JAL:
    case Op::NOP:
    case Op::FENCE:
    case Op::FENCE_I: break;
    case Op::ADDI:
    case Op::SLTI:
    case Op::SLTIU:
    case Op::XORI:
    case Op::ORI:
    case Op::ANDI:
    case Op::SLLI:
    case Op::SRLI:
    case Op::SRAI:
    case Op::ADDIW:
    case Op::SLLIW:
    case Op::SRLIW:
    case Op::SRAIW:
    case Op::LB:
    case Op::LH:
    case Op::LW:
    case Op::LD:
    case Op::LBU:
    case Op::LHU:
    case Op::LWU:
    case Op::FLW:
    case Op::FLD:
    case Op::FSW:
    case Op::FSD:
    case Op::JALR:
    case Op::MV:
    case Op::CLZ:
    case Op::CTZ:
    case Op::CPOP:
    case Op::CLZW:
    case Op::CTZW:
    case Op::CPOPW:
    case Op::SEXT_B:
    case Op::SEXT_H:
    case Op::ZEXT_H:
    case Op::RORI:
    case Op::RORIW:
    case Op::ORC_B:
    case Op::REV8:
    case Op::BCLRI:
    case Op::BEXTI:
    case Op::BINVI:
    case Op::BSETI:
    case Op::SLLI_UW: mask = rs1; break;
    case Op::FP:
      switch (static_cast<FpOp>(d.aux)) {
        case FpOp::FMV_D_X:
        case FpOp::FMV_W_X:
        case FpOp::FCVT_S_W:
        case FpOp::FCVT_S_WU:
        case FpOp::FCVT_S_L:
        case FpOp::FCVT_S_LU:
        case FpOp::FCVT_D_W:
        case FpOp::FCVT_D_WU:
        case FpOp::FCVT_D_L:
        case FpOp::FCVT_D_LU: mask = rs1; break;
        default: break;
      }
      break;
    default: mask = rs1 | rs2; break;  // register-register ops, branches, stores
  }
  return mask & ~1u;
}

bool is_conditional_branch(Op op) {
  switch (op) {
    case Op::BEQ:
    case Op::BNE:
    case Op::BLT:
    case Op::BGE:
    case Op::BLTU:
    case Op::BGEU: return true;
    default: return false;
  }
}

// Instructions the translator leaves to the interpreter: they change
// privilege, translation or interrupt state, talk to the SBI, or are rare
// enough that a call into the interpreter costs nothing that matters.
bool translatable(Op op) {
  switch (op) {
    case Op::UNDECODED:
    case Op::PAGE_END:
    case Op::SCRATCH_END:
    case Op::CROSS_PAGE:
    case Op::ILLEGAL:
    case Op::ECALL:
    case Op::EBREAK:
    case Op::MRET:
    case Op::SRET:
    case Op::WFI:
    case Op::SFENCE_VMA:
    case Op::CSRRW:
    case Op::CSRRS:
    case Op::CSRRC:
    case Op::CSRRWI:
    case Op::CSRRSI:
    case Op::CSRRCI:
    case Op::LR_W:
    case Op::LR_D:
    case Op::SC_W:
    case Op::SC_D:
    case Op::AMO_W:
    case Op::AMO_D: return false;
    default: return true;
  }
}

class Emitter {
 public:
  Emitter(Xbyak::CodeGenerator& g, BlockCache& cache, uint64_t va, uint64_t gpa,
          std::vector<Insn> insns, bool interpret_after)
      : g_(g),
        cache_(cache),
        va_(va),
        gpa_(gpa),
        insns_(std::move(insns)),
        interpret_after_(interpret_after) {}

  void emit() {
    allocate_registers();
    const auto n = static_cast<uint32_t>(insns_.size());
    for (const Insn& i : insns_) {
      if (writes_x(i.d) && cached(i.d.rd)) written_ |= 1u << i.d.rd;
      if (is_conditional_branch(i.d.op) && i.va + static_cast<int64_t>(i.d.imm) == va_)
        loops_ = true;
    }
    // Load the cached registers the block may read before it writes them
    // (all of them if it loops: the loop's next round reads them too).
    uint32_t written_first = 0, read_first = 0;
    for (const Insn& i : insns_) {
      read_first |= x_reads(i.d) & ~written_first;
      if (writes_x(i.d) && i.d.rd < 32) written_first |= 1u << i.d.rd;
    }
    for (unsigned i = 0; i < kCacheRegs.size(); ++i) {
      const unsigned r = guest_of_[i];
      if (r != 0 && (loops_ || ((read_first >> r) & 1) != 0))
        g_.mov(kCacheRegs[i], g_.qword[rbp + off_x(r)]);
    }
    g_.mov(kTlbReg, g_.qword[rbp + kOffDataTlb]);
    // A branch back to the block's start comes here with the guest registers
    // still in host registers; any of those the block writes may then be
    // newer than HartState at any exit.
    g_.L(head_);
    g_.sub(budget_reg(), n);
    g_.jl(no_budget_, Xbyak::CodeGenerator::T_NEAR);
    g_.L(body_);
    if (loops_) dirty_ = written_;
    bool ended = false;
    for (k_ = 0; k_ < insns_.size(); ++k_) ended = emit_insn(insns_[k_]);
    if (!ended) {
      const Insn& last = insns_.back();
      const uint64_t next = last.va + last.d.len;
      writeback();
      if (interpret_after_) {
        set_pc(next);
        g_.mov(eax, kExitInterpret);
        g_.jmp(cache_.exit_code(), Xbyak::CodeGenerator::T_NEAR);
      } else {
        exit_to(next);
      }
    }
    g_.L(no_budget_);
    g_.add(budget_reg(), n);
    if (loops_) writeback(written_);
    set_pc(va_);
    g_.mov(eax, kExitLookup);
    g_.jmp(cache_.exit_code(), Xbyak::CodeGenerator::T_NEAR);
    // Cold code may add more cold code (a deque keeps the others in place).
    for (size_t i = 0; i < cold_.size(); ++i) {
      const std::function<void()> f = std::move(cold_[i]);
      f();
    }
  }

 private:
  // ---- guest registers ----
  // Uses inside a loop back to the block's start count kLoopWeight times.
  void allocate_registers() {
    constexpr unsigned kLoopWeight = 16;
    size_t loop_end = 0;  // instructions [0, loop_end) are a loop's body
    for (size_t k = 0; k < insns_.size(); ++k) {
      const Insn& i = insns_[k];
      if (is_conditional_branch(i.d.op) && i.va + static_cast<int64_t>(i.d.imm) == va_)
        loop_end = k + 1;
    }
    std::array<unsigned, 32> uses{};
    for (size_t k = 0; k < insns_.size(); ++k) {
      const DecodedInsn& d = insns_[k].d;
      const unsigned w = k < loop_end ? kLoopWeight : 1;
      const uint32_t reads = x_reads(d);
      for (unsigned r = 1; r < 32; ++r) {
        if ((reads >> r) & 1) uses[r] += w;
      }
      if (writes_x(d) && d.rd < 32) uses[d.rd] += w;
    }
    uses[0] = 0;
    std::array<uint8_t, 32> order{};
    for (uint8_t r = 0; r < 32; ++r) order[r] = r;
    std::stable_sort(order.begin(), order.end(),
                     [&](uint8_t a, uint8_t b) { return uses[a] > uses[b]; });
    host_of_.fill(-1);
    guest_of_.fill(0);
    for (unsigned i = 0; i < kCacheRegs.size() && uses[order[i]] != 0; ++i) {
      host_of_[order[i]] = static_cast<int8_t>(i);
      guest_of_[i] = order[i];
    }
  }

  bool cached(unsigned r) const { return r < 32 && host_of_[r] >= 0; }
  const Reg64& host(unsigned r) const { return kCacheRegs[host_of_[r]]; }

  // The value of x[r]: its host register, or `temp` loaded with it.
  Reg64 get(unsigned r, const Reg64& temp) {
    if (r == 0) {
      g_.xor_(temp.cvt32(), temp.cvt32());
      return temp;
    }
    if (cached(r)) return host(r);
    g_.mov(temp, g_.qword[rbp + off_x(r)]);
    return temp;
  }
  // x[rd] = v.
  void put(unsigned rd, const Reg64& v) {
    if (rd == 0 || rd >= 32) return;  // the x0 sink
    if (cached(rd)) {
      if (host(rd).getIdx() != v.getIdx()) g_.mov(host(rd), v);
      dirty_ |= 1u << rd;
    } else {
      g_.mov(g_.qword[rbp + off_x(rd)], v);
    }
  }
  void writeback(uint32_t mask) {
    for (unsigned r = 1; r < 32; ++r) {
      if ((mask >> r) & 1) g_.mov(g_.qword[rbp + off_x(r)], host(r));
    }
  }
  void writeback() {
    writeback(dirty_);
    dirty_ = 0;
  }
  // After a helper call: the caller-saved host registers are gone, and the
  // helper may have written x[also].
  void reload_after_call(unsigned also = 0) {
    g_.mov(kTlbReg, g_.qword[rbp + kOffDataTlb]);
    for (unsigned i = 0; i < kCacheRegs.size(); ++i) {
      const unsigned r = guest_of_[i];
      if (r != 0 && (i >= kCalleeSaved || r == also))
        g_.mov(kCacheRegs[i], g_.qword[rbp + off_x(r)]);
    }
  }

  // ---- leaving the block ----
  void set_pc(uint64_t pc) {
    g_.mov(rax, pc);
    g_.mov(g_.qword[rbp + kOffPc], rax);
  }
  // Guest registers are written back already.
  void exit_to(uint64_t target) {
    if ((target >> 12) == (va_ >> 12)) {
      const uint64_t target_gpa = (gpa_ & ~uint64_t{0xfff}) | (target & 0xfff);
      const Block* b = cache_.find(target_gpa, target);
      if (b != nullptr && b->code != nullptr) {
        g_.jmp(b->code, Xbyak::CodeGenerator::T_NEAR);
        return;
      }
      if (b == nullptr) {
        // A jump the dispatcher links once the target is translated: it
        // starts as a jump to the next instruction, the exit below.
        const uint8_t* site = g_.getCurr();
        g_.db(0xe9);
        g_.dd(0);
        set_pc(target);
        g_.mov(rax, reinterpret_cast<uint64_t>(site));
        g_.mov(g_.qword[rbp + kOffChainSite], rax);
        g_.mov(eax, kExitChain);
        g_.jmp(cache_.exit_code(), Xbyak::CodeGenerator::T_NEAR);
        return;
      }
    }
    set_pc(target);
    g_.jmp(cache_.lookup_code(), Xbyak::CodeGenerator::T_NEAR);
  }
  // Cold exit for the instruction being emitted: it did not retire (nor did
  // the rest of the block). The caller wrote the registers back.
  void exit_here(uint32_t exit) {
    const auto refund = static_cast<uint32_t>(insns_.size() - k_);
    g_.add(budget_reg(), refund);
    set_pc(insns_[k_].va);
    g_.mov(eax, exit);
    g_.jmp(cache_.exit_code(), Xbyak::CodeGenerator::T_NEAR);
  }
  template <typename F>
  void cold(F&& f) {
    cold_.emplace_back(std::forward<F>(f));
  }
  Label& label() { return labels_.emplace_back(); }

  // ---- helpers ----
  void call(const void* fn) {
    g_.mov(rax, reinterpret_cast<uint64_t>(fn));
    g_.call(rax);
  }

  // FS must be on for F/D instructions: checked once per block (nothing in a
  // block turns it off); off sends the instruction to the interpreter, which
  // raises the exception.
  void check_fs() {
    if (fs_checked_) return;
    fs_checked_ = true;
    Label& off = label();
    g_.test(g_.dword[rbp + kOffMstatus], static_cast<uint32_t>(mstatus::kFs));
    g_.jz(off, Xbyak::CodeGenerator::T_NEAR);
    const uint32_t mask = dirty_;
    const size_t k = k_;
    cold([this, &off, mask, k] {
      g_.L(off);
      writeback(mask);
      k_ = k;
      exit_here(kExitInterpret);
    });
  }
  void set_fs_dirty() {
    if (fs_dirty_) return;
    fs_dirty_ = true;
    g_.or_(g_.dword[rbp + kOffMstatus], static_cast<uint32_t>(mstatus::kFs));
  }

  // Calls Runtime::fp for `d` (guest registers written back already); an
  // illegal rounding mode leaves the block for the interpreter.
  void fp_call(const DecodedInsn& d) {
    const uint64_t packed = uint64_t{d.aux} | (uint64_t(d.imm & 0xff) << 8) |
                            (uint64_t{d.rd} << 16) | (uint64_t{d.rs1} << 24) |
                            (uint64_t{d.rs2} << 32) | (uint64_t{d.rs3} << 40);
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

  // F/D instructions done inline: moves and sign injection (no flags), and
  // add/sub/mul/div/sqrt in round-to-nearest through SSE, which is exact
  // there (fpu.cpp): NaN results, NaN-unboxed single inputs and other
  // rounding modes go to Runtime::fp. Returns false if `d` is not one.
  bool fp_inline(const DecodedInsn& d) {
    const auto op = static_cast<FpOp>(d.aux);
    const int32_t f1 = off_f(d.rs1), f2 = off_f(d.rs2), fd = off_f(d.rd < 32 ? d.rd : 0);
    switch (op) {
      case FpOp::FMV_X_D:
        g_.mov(rax, g_.qword[rbp + f1]);
        put(d.rd, rax);
        return true;
      case FpOp::FMV_X_W:
        g_.movsxd(rax, g_.dword[rbp + f1]);
        put(d.rd, rax);
        return true;
      case FpOp::FMV_D_X: {
        const Reg64 a = get(d.rs1, rax);
        g_.mov(g_.qword[rbp + fd], a);
        return true;
      }
      case FpOp::FMV_W_X: {
        const Reg64 a = get(d.rs1, rax);
        g_.mov(eax, a.cvt32());
        g_.mov(rcx, 0xffffffff00000000ull);
        g_.or_(rax, rcx);
        g_.mov(g_.qword[rbp + fd], rax);
        return true;
      }
      case FpOp::FSGNJ_D:
      case FpOp::FSGNJN_D:
      case FpOp::FSGNJX_D:
        g_.mov(rax, g_.qword[rbp + f1]);
        if (op == FpOp::FSGNJ_D && d.rs1 == d.rs2) {  // fmv.d
          g_.mov(g_.qword[rbp + fd], rax);
          return true;
        }
        g_.mov(rcx, g_.qword[rbp + f2]);
        if (op == FpOp::FSGNJN_D) g_.not_(rcx);
        g_.shr(rcx, 63);
        g_.shl(rcx, 63);
        if (op == FpOp::FSGNJX_D) {
          g_.xor_(rax, rcx);
        } else {
          g_.btr(rax, 63);
          g_.or_(rax, rcx);
        }
        g_.mov(g_.qword[rbp + fd], rax);
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
    Label& slow = label();
    Label& done = label();
    if (rm == 7) {
      g_.cmp(g_.dword[rbp + kOffFrm], 0);
      g_.jne(slow, G::T_NEAR);
    }
    if (single) {  // both inputs NaN-boxed
      g_.cmp(g_.dword[rbp + f1 + 4], -1);
      g_.jne(slow, G::T_NEAR);
      if (!sqrt) {
        g_.cmp(g_.dword[rbp + f2 + 4], -1);
        g_.jne(slow, G::T_NEAR);
      }
      g_.movss(xmm0, g_.dword[rbp + f1]);
      (g_.*arith)(xmm0, sqrt ? g_.dword[rbp + f1] : g_.dword[rbp + f2]);
      g_.ucomiss(xmm0, xmm0);
    } else {
      g_.movsd(xmm0, g_.qword[rbp + f1]);
      (g_.*arith)(xmm0, sqrt ? g_.qword[rbp + f1] : g_.qword[rbp + f2]);
      g_.ucomisd(xmm0, xmm0);
    }
    g_.jp(slow, G::T_NEAR);  // a NaN: RISC-V's NaN rules are Runtime::fp's
    if (single) {
      g_.movss(g_.dword[rbp + fd], xmm0);
      g_.mov(g_.dword[rbp + fd + 4], -1);
    } else {
      g_.movsd(g_.qword[rbp + fd], xmm0);
    }
    // The exception flags stay in MXCSR until the block returns (abi.hpp).
    g_.L(done);
    const uint32_t mask = dirty_;
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

  // rax = x[rs1] + imm
  // The register holding the access's virtual address: the base register
  // itself when there is no offset, else rax = x[rs1] + imm.
  Reg64 address(const DecodedInsn& d) {
    const Reg64 base = get(d.rs1, rax);
    if (d.imm == 0) return base;
    g_.lea(rax, g_.ptr[base + d.imm]);
    return rax;
  }
  // rcx = the entry's offset in its array (`array`: read or write), rdx
  // clobbered; jumps to `miss` unless the entry maps the access at `va` (its
  // alignment folded into the tag). The entry is then [kTlbReg + rcx + array].
  void tlb_check(const Reg64& va, int32_t array, unsigned size, Label& miss) {
    static_assert(kTlbEntries == 256 && sizeof(TlbEntry) == 16);
    g_.mov(ecx, va.cvt32());
    g_.shr(ecx, 12 - 4);  // ((va >> 12) & 255) * 16
    g_.and_(ecx, (kTlbEntries - 1) << 4);
    g_.mov(rdx, va);
    g_.and_(rdx, static_cast<int32_t>(~uint32_t{0xfff} | (size - 1)));
    g_.cmp(rdx, g_.qword[kTlbReg + rcx + array]);
    g_.jne(miss, Xbyak::CodeGenerator::T_NEAR);
  }

  // Loads into `dst` (extended as `sign` says) and returns it.
  Reg64 load(const DecodedInsn& d, unsigned size, bool sign, const Reg64& dst = rax) {
    const Reg64 va = address(d);
    Label& miss = label();
    Label& done = label();
    tlb_check(va, kOffTlbRead, size, miss);
    g_.mov(rdx, g_.qword[kTlbReg + rcx + kOffTlbRead + 8]);
    // SAFETY (of the guest access): the entry maps this aligned access into RAM.
    const Reg32 dst32 = dst.cvt32();
    switch (size) {
      case 1: sign ? g_.movsx(dst, g_.byte[va + rdx]) : g_.movzx(dst32, g_.byte[va + rdx]); break;
      case 2: sign ? g_.movsx(dst, g_.word[va + rdx]) : g_.movzx(dst32, g_.word[va + rdx]); break;
      case 4: sign ? g_.movsxd(dst, g_.dword[va + rdx]) : g_.mov(dst32, g_.dword[va + rdx]); break;
      default: g_.mov(dst, g_.qword[va + rdx]); break;
    }
    g_.L(done);
    const uint32_t mask = dirty_;
    const size_t k = k_;
    const uint64_t kind = size | (sign ? Runtime::kSigned : 0);
    cold([this, &miss, &done, mask, k, kind, va, dst] {
      g_.L(miss);
      writeback(mask);
      g_.mov(rsi, va);
      g_.mov(rdi, rbp);
      g_.mov(edx, static_cast<uint32_t>(kind));
      call(reinterpret_cast<const void*>(&Runtime::load));
      Label& ok = label();
      g_.test(rdx, rdx);
      g_.jnz(ok);
      k_ = k;
      exit_here(kExitTrap);
      g_.L(ok);
      reload_after_call();
      if (dst.getIdx() != rax.getIdx()) g_.mov(dst, rax);
      g_.jmp(done, Xbyak::CodeGenerator::T_NEAR);
    });
    return dst;
  }

  // Stores x[rs2] (or f[rs2] when `fp`).
  void store(const DecodedInsn& d, unsigned size, bool fp) {
    const Reg64 va = address(d);
    Label& miss = label();
    tlb_check(va, kOffTlbWrite, size, miss);
    g_.mov(rcx, g_.qword[kTlbReg + rcx + kOffTlbWrite + 8]);
    Reg64 v = rdx;
    if (fp) {
      g_.mov(rdx, g_.qword[rbp + off_f(d.rs2)]);
    } else {
      v = get(d.rs2, rdx);
    }
    // SAFETY (of the guest access): write entries exist only for RAM pages
    // that need nothing from GuestMemory::prepare_write.
    switch (size) {
      case 1: g_.mov(g_.byte[va + rcx], v.cvt8()); break;
      case 2: g_.mov(g_.word[va + rcx], v.cvt16()); break;
      case 4: g_.mov(g_.dword[va + rcx], v.cvt32()); break;
      default: g_.mov(g_.qword[va + rcx], v); break;
    }
    const uint32_t mask = dirty_;
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
      Label& ok = label();
      g_.test(eax, eax);
      g_.jnz(ok);
      k_ = k;
      exit_here(kExitTrap);
      // The store may have hit MMIO or this block's own page: back to the
      // dispatcher, with this instruction retired.
      g_.L(ok);
      g_.add(budget_reg(), static_cast<uint32_t>(insns_.size() - k - 1));
      set_pc(next);
      g_.mov(eax, kExitLookup);
      g_.jmp(cache_.exit_code(), Xbyak::CodeGenerator::T_NEAR);
    });
  }

  // rax = x[rs1], rcx = x[rs2] (for ops whose operands must be in those).
  void operands_rax_rcx(const DecodedInsn& d) {
    const Reg64 b = get(d.rs2, rcx);
    if (b.getIdx() != rcx.getIdx()) g_.mov(rcx, b);
    const Reg64 a = get(d.rs1, rax);
    if (a.getIdx() != rax.getIdx()) g_.mov(rax, a);
  }

  // Where x[rd] is computed: its host register when cached, else rax.
  Reg64 target(unsigned rd) const { return cached(rd) ? host(rd) : rax; }
  // x[rd] = OP(x[rs1]), computed in place.
  template <typename F>
  void unary_in(const DecodedInsn& d, F op) {
    const Reg64 t = target(d.rd);
    const Reg64 a = get(d.rs1, t);
    if (a.getIdx() != t.getIdx()) g_.mov(t, a);
    op(t);
    put(d.rd, t);
  }
  // x[rd] = x[rs1] OP x[rs2], computed in place.
  template <typename F>
  void binary_in(const DecodedInsn& d, F op) {
    const Reg64 t = target(d.rd);
    Reg64 b = get(d.rs2, rcx);
    if (b.getIdx() == t.getIdx() && d.rs1 != d.rs2) {  // rd == rs2: keep it
      g_.mov(rcx, b);
      b = rcx;
    }
    const Reg64 a = get(d.rs1, t);
    if (a.getIdx() != t.getIdx()) g_.mov(t, a);
    op(t, b);
    put(d.rd, t);
  }
  template <typename F>
  void binary_in32(const DecodedInsn& d, F op) {
    binary_in(d, [&](const Reg64& t, const Reg64& b) {
      op(t, b);
      g_.movsxd(t, t.cvt32());
    });
  }

  // x[rd] = x[rs1] OP x[rs2] through rax.
  template <typename F>
  void binary(const DecodedInsn& d, F op) {
    const Reg64 b = get(d.rs2, rcx);
    const Reg64 a = get(d.rs1, rax);
    if (a.getIdx() != rax.getIdx()) g_.mov(rax, a);
    op(b);
    put(d.rd, rax);
  }
  template <typename F>
  void binary32(const DecodedInsn& d, F op) {
    binary(d, [&](const Reg64& b) {
      op(b);
      g_.movsxd(rax, eax);
    });
  }
  // x[rd] = x[rs1] OP imm through rax.
  template <typename F>
  void unary(const DecodedInsn& d, F op) {
    const Reg64 a = get(d.rs1, rax);
    if (a.getIdx() != rax.getIdx()) g_.mov(rax, a);
    op();
    put(d.rd, rax);
  }
  void set_cc(const DecodedInsn& d, bool imm,
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
  void shift_var(const DecodedInsn& d, bool word,
                 void (Xbyak::CodeGenerator::*op)(const Xbyak::Operand&, const Xbyak::Reg8&)) {
    operands_rax_rcx(d);  // the count in cl; x86 masks it as RISC-V does
    if (word) {
      (g_.*op)(eax, cl);
      g_.movsxd(rax, eax);
    } else {
      (g_.*op)(rax, cl);
    }
    put(d.rd, rax);
  }
  void shift_imm(const DecodedInsn& d, bool word,
                 void (Xbyak::CodeGenerator::*op)(const Xbyak::Operand&, int)) {
    unary_in(d, [&](const Reg64& t) {
      if (word) {
        (g_.*op)(t.cvt32(), d.imm);
        g_.movsxd(t, t.cvt32());
      } else {
        (g_.*op)(t, d.imm);
      }
    });
  }
  void select(const DecodedInsn& d,
              void (Xbyak::CodeGenerator::*cmov)(const Xbyak::Reg&, const Xbyak::Operand&)) {
    operands_rax_rcx(d);
    g_.cmp(rax, rcx);
    (g_.*cmov)(rax, rcx);
    put(d.rd, rax);
  }

  // DIV[U][W] / REM[U][W] with RISC-V's results for x / 0 and overflow.
  void divide(const DecodedInsn& d, bool is_signed, bool rem, bool word) {
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

  // A conditional branch. Returns true if it ended the block: a branch in
  // the middle of one leaves through a cold side exit when taken, one back
  // to the block's start loops without leaving.
  bool branch(const Insn& i,
              void (Xbyak::CodeGenerator::*jcc)(const Label&, Xbyak::CodeGenerator::LabelType)) {
    using G = Xbyak::CodeGenerator;
    const DecodedInsn& d = i.d;
    const uint64_t target = i.va + static_cast<int64_t>(d.imm);
    const bool last = k_ + 1 == insns_.size();
    // Instructions of the block after this one, which do not run when it is taken.
    const auto skipped = static_cast<uint32_t>(insns_.size() - k_ - 1);
    const Reg64 a = get(d.rs1, rax);
    const Reg64 b = get(d.rs2, rcx);
    g_.cmp(a, b);
    if (target == va_) {
      if (skipped == 0) {
        (g_.*jcc)(head_, G::T_NEAR);
      } else {
        // This round ran k + 1 of the n instructions it was charged for; the
        // next is charged n again: together, k + 1 more.
        Label& back = label();
        (g_.*jcc)(back, G::T_NEAR);
        const auto round = static_cast<uint32_t>(k_ + 1);
        cold([this, &back, round] {
          g_.L(back);
          g_.sub(budget_reg(), round);
          g_.jge(body_, G::T_NEAR);
          g_.jmp(no_budget_, G::T_NEAR);  // gives the next round's n back
        });
      }
      if (!last) return false;
      writeback();
      exit_to(i.va + d.len);
      return true;
    }
    if (!last) {
      Label& taken = label();
      (g_.*jcc)(taken, G::T_NEAR);
      const uint32_t mask = dirty_;
      cold([this, &taken, mask, skipped, target] {
        g_.L(taken);
        writeback(mask);
        g_.add(budget_reg(), skipped);
        exit_to(target);
      });
      return false;
    }
    writeback();  // mov does not touch the flags
    Label& taken = label();
    (g_.*jcc)(taken, G::T_NEAR);
    exit_to(i.va + d.len);
    g_.L(taken);
    exit_to(target);
    return true;
  }

  // Emits one instruction; returns true if it ended the block.
  bool emit_insn(const Insn& i) {
    using G = Xbyak::CodeGenerator;
    const DecodedInsn& d = i.d;
    switch (d.op) {
      case Op::NOP:
      case Op::FENCE:
      case Op::FENCE_I:  // stores to code pages drop its translations already
        return false;
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
        g_.mov(rax, i.va + d.len);
        put(d.rd, rax);
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
        g_.jmp(cache_.lookup_code(), G::T_NEAR);
        return true;
      }
      case Op::BEQ: return branch(i, &G::je);
      case Op::BNE: return branch(i, &G::jne);
      case Op::BLT: return branch(i, &G::jl);
      case Op::BGE: return branch(i, &G::jge);
      case Op::BLTU: return branch(i, &G::jb);
      case Op::BGEU: return branch(i, &G::jae);

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
      case Op::SLLI: shift_imm(d, false, &G::shl); return false;
      case Op::SRLI: shift_imm(d, false, &G::shr); return false;
      case Op::SRAI: shift_imm(d, false, &G::sar); return false;
      case Op::ADD:
        binary_in(d, [&](const Reg64& t, const Reg64& b) { g_.add(t, b); });
        return false;
      case Op::SUB:
        binary_in(d, [&](const Reg64& t, const Reg64& b) { g_.sub(t, b); });
        return false;
      case Op::SLL: shift_var(d, false, &G::shl); return false;
      case Op::SLT: set_cc(d, false, &G::setl); return false;
      case Op::SLTU: set_cc(d, false, &G::setb); return false;
      case Op::XOR:
        binary_in(d, [&](const Reg64& t, const Reg64& b) { g_.xor_(t, b); });
        return false;
      case Op::SRL: shift_var(d, false, &G::shr); return false;
      case Op::SRA: shift_var(d, false, &G::sar); return false;
      case Op::OR:
        binary_in(d, [&](const Reg64& t, const Reg64& b) { g_.or_(t, b); });
        return false;
      case Op::AND:
        binary_in(d, [&](const Reg64& t, const Reg64& b) { g_.and_(t, b); });
        return false;
      case Op::ADDIW:
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
        check_fs();
        const bool single = d.op == Op::FLW;
        load(d, single ? 4 : 8, false);
        if (single) {
          g_.mov(rcx, 0xffffffff00000000ull);
          g_.or_(rax, rcx);
        }
        g_.mov(g_.qword[rbp + off_f(d.rd)], rax);
        set_fs_dirty();
        return false;
      }
      case Op::FSW:
        check_fs();
        store(d, 4, true);
        return false;
      case Op::FSD:
        check_fs();
        store(d, 8, true);
        return false;
      case Op::FP:
        check_fs();
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
          // Bytes equal to zero compare to 0xff; the complement is orc.b.
          g_.movq(xmm0, rax);
          g_.pxor(xmm1, xmm1);
          g_.pcmpeqb(xmm0, xmm1);
          g_.movq(rax, xmm0);
          g_.not_(rax);
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

  Xbyak::CodeGenerator& g_;
  BlockCache& cache_;
  uint64_t va_, gpa_;
  std::vector<Insn> insns_;
  bool interpret_after_;
  size_t k_ = 0;
  std::array<int8_t, 32> host_of_{};  // guest register -> index in kCacheRegs, or -1
  std::array<uint8_t, kCacheRegs.size()>
      guest_of_{};      // kCacheRegs index -> guest register (0: none)
  uint32_t dirty_ = 0;  // guest registers whose host copy is newer
  bool fs_checked_ = false, fs_dirty_ = false;
  Label head_;            // after the register loads: where the budget is taken
  Label body_;            // after that
  Label no_budget_;       // leaves with pc at the start, the budget untouched
  bool loops_ = false;    // some branch goes back to the start
  uint32_t written_ = 0;  // cached guest registers the block writes
  std::deque<Label> labels_;
  std::deque<std::function<void()>> cold_;
};

}  // namespace

bool translate_block(BlockCache& cache, uint64_t va, uint64_t gpa, const uint8_t* page,
                     Block& out) {
  // Scan: which instructions the block holds.
  std::vector<Insn> insns;
  bool interpret_after = false;
  unsigned offset = static_cast<unsigned>(va & 0xfff);
  while (insns.size() < kMaxBlockInsns && offset < 4096) {
    uint16_t low;
    std::memcpy(&low, page + offset, 2);
    uint32_t raw = low;
    if (insn_length(low) == 4) {
      if (offset == 4094) {  // crosses into the next page: the interpreter's
        interpret_after = true;
        break;
      }
      uint16_t high;
      std::memcpy(&high, page + offset + 2, 2);
      raw |= static_cast<uint32_t>(high) << 16;
    }
    const DecodedInsn d = decode(raw, offset);
    if (!translatable(d.op)) {
      interpret_after = true;
      break;
    }
    insns.push_back(Insn{d, (va & ~uint64_t{0xfff}) | offset});
    offset += d.len;
    if (d.op == Op::JAL || d.op == Op::JALR) break;
  }
  if (insns.empty()) {
    out = Block{};
    return true;
  }
  CodeBuffer& buffer = cache.buffer();
  try {
    Xbyak::CodeGenerator g(buffer.room(), buffer.cursor());
    Emitter e(g, cache, va, gpa, insns, interpret_after);
    e.emit();
    g.ready();
    out.code = g.getCode();
    out.insns = static_cast<uint32_t>(insns.size());
    out.bytes = static_cast<uint32_t>(g.getSize());
    buffer.commit(g.getSize());
  } catch (const Xbyak::Error&) {
    return false;  // out of room
  }
  return true;
}

}  // namespace vessel::rv::jit
