// Emits the x86-64 code of one block (translator.hpp says what a block is and
// what its code does). One Emitter per block; its methods live in
// emitter.cpp (block structure, registers, exits, branches), emit_insn.cpp
// (integer instructions), emit_memory.cpp (loads and stores through the
// software TLB) and emit_fp.cpp (F/D).
#pragma once

#include <xbyak/xbyak.h>

#include <array>
#include <bit>
#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "engine/riscv/decoded_insn.hpp"
#include "engine/riscv/jit/abi.hpp"
#include "engine/riscv/jit/block_cache.hpp"
#include "engine/riscv/jit/op_info.hpp"

namespace vessel::rv::jit {

using Xbyak::Label;
using Xbyak::Reg32;
using Xbyak::Reg64;
using Xbyak::Xmm;
// The emitter names host registers as assembly does (rax, rbp, ...).
using namespace Xbyak::util;

// Host registers that hold guest registers, callee-saved ones first (they
// survive helper calls).
inline const std::array<Reg64, 9> kCacheRegs = {rbx, r12, r13, r14, rsi, rdi, r8, r9, r10};
inline constexpr unsigned kCalleeSaved = 4;
// The current data TLB (HartState::data_tlb_), which nothing in a block changes;
// with direct user memory (BlockCache::set_direct_memory) the host base of
// guest memory instead.
inline const Reg64 kTlbReg = r11;
// SSE registers that hold guest f registers (xmm0 is the scratch one). All
// are caller-saved: every helper call reloads them.
inline const std::array<Xmm, 15> kFpCacheRegs = {
    xmm1, xmm2, xmm3, xmm4, xmm5, xmm6, xmm7, xmm8, xmm9, xmm10, xmm11, xmm12, xmm13, xmm14, xmm15};
// Dirty masks (Emitter::dirty_) hold x[r] at bit r and f[r] at bit 32 + r.
inline constexpr uint64_t fbit(unsigned r) {
  return uint64_t{1} << (32 + r);
}

struct Insn {
  DecodedInsn d;
  uint64_t va;
  bool crosses_page = false;  // its second half is the next page's first 16 bits
  uint16_t high = 0;          // which were these when it was translated
};

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

  void emit();
  // After emit() and the generator's ready(): each access that may fault on
  // the host (direct user memory) and where its slow path starts.
  template <typename F>
  void for_each_fault_site(F&& f) const {
    for (const auto& [site, slow] : fault_sites_) f(site, slow->getAddress());
  }

 private:
  // ---- guest registers ----
  // Uses inside a loop back to the block's start count kLoopWeight times.
  void allocate_registers();
  // The same for f registers, in SSE registers.
  void allocate_fp_registers();
  // Register numbers by their uses in the block (weighted_uses_ holds the
  // counts), most used first; reads_of(d) is a mask of the registers d
  // reads, writes_rd(d) whether it writes rd.
  template <typename Reads, typename Writes>
  std::array<uint8_t, 32> by_weighted_uses(Reads reads_of, Writes writes_rd);
  void find_chained_loads();

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
  // Writes back the registers in `mask` (x and f, fbit); flags untouched.
  void writeback(uint64_t mask) {
    for (uint64_t m = mask & ~uint64_t{1}; m != 0; m &= m - 1) {
      const auto bit = static_cast<unsigned>(std::countr_zero(m));
      if (bit < 32) {
        g_.mov(g_.qword[rbp + off_x(bit)], host(bit));
      } else {
        g_.movsd(g_.qword[rbp + off_f(bit - 32)], fhost(bit - 32));
      }
    }
  }
  void writeback() {
    writeback(dirty_);
    dirty_ = 0;
  }
  // Whether x[r] holds the sign extension of its low 32 bits at the
  // instruction being emitted (result_is_sext32). Nothing is known at the
  // block's start, where a loop's next round also arrives.
  // ---- guest f registers (all 64 bits: a single is NaN-boxed) ----
  bool fcached(unsigned r) const { return r < 32 && fhost_of_[r] >= 0; }
  const Xmm& fhost(unsigned r) const { return kFpCacheRegs[fhost_of_[r]]; }
  // dst = f[r] (an SSE register: the whole 64 bits; a general one: the bits).
  void fget(const Xmm& dst, unsigned r);
  void fget(const Reg64& dst, unsigned r);
  // f[rd] = v.
  void fput(unsigned rd, const Xmm& v);
  void fput(unsigned rd, const Reg64& v);
  // The operand an SSE instruction reads f[r] from: its register or HartState.
  const Xbyak::Operand& fsrc(unsigned r) {
    if (fcached(r)) return fhost(r);
    fmem_ = g_.qword[rbp + off_f(r)];
    return fmem_;
  }

  bool known_sext32(unsigned r) const { return r < 32 && ((sext32_ >> r) & 1) != 0; }
  void note_sext32(const DecodedInsn& d);

  // After a helper call: the caller-saved host registers (and every SSE
  // register) are gone, and the helper may have written x[also] (or any f
  // register: the cached ones are all reloaded).
  void reload_after_call(unsigned also = 0);

  // ---- leaving the block ----
  void set_pc(uint64_t pc);
  // Guest registers are written back already.
  void exit_to(uint64_t target);
  // rax = the target pc, already in state.pc: on to its block through this
  // context's jump cache, or back to the dispatcher. Each jump has its own
  // copy of the lookup, so that the host predicts each one's target apart
  // (one shared indirect jump for every return and call through a pointer
  // mispredicts whenever they alternate).
  void jump_through_cache();
  // The same for a target known now: the jump-cache entry is a constant.
  void jump_through_cache(uint64_t target);
  // Cold exit for the instruction being emitted: it did not retire (nor did
  // the rest of the block). The caller wrote the registers back.
  void exit_here(uint32_t exit);
  // For an instruction crossing into the next page (translator.hpp): leaves
  // for the interpreter unless the fetch TLB maps that page and it still
  // holds the instruction's second half.
  void check_second_half(const Insn& i);
  template <typename F>
  void cold(F&& f) {
    cold_.emplace_back(std::forward<F>(f));
  }
  Label& label() { return labels_.emplace_back(); }

  // ---- direct user memory (BlockCache::set_direct_memory) ----
  bool direct() const { return cache_.direct_base() != nullptr; }
  // Jumps to `slow` unless va < the limit (a constant in the block's cold
  // code: rip-relative, so the compare needs no register and fuses with
  // the branch). The guard page above the limit catches the bytes of an
  // access that starts below it and runs past.
  void direct_check(const Reg64& va, Label& slow);
  // The next instruction is an access that may fault on the host: a fault
  // there resumes at `slow`.
  void fault_site(Label& slow) { fault_sites_.emplace_back(g_.getCurr(), &slow); }
  // kTlbReg's value on entry and after helper calls.
  void load_base_reg();

  // ---- helpers ----
  void call(const void* fn) {
    g_.mov(rax, reinterpret_cast<uint64_t>(fn));
    g_.call(rax);
  }

  // F/D instructions need FS on, and inline arithmetic with the dynamic
  // rounding mode needs frm to round to nearest. Both hold still while a
  // block runs (a CSR write that could change them ends the block; the FP
  // CSRs are the interpreter's), so a block with such instructions checks
  // them once on entry, outside its loops; otherwise the interpreter runs
  // it (and raises the exception, or rounds as frm says).
  void check_fp_state();
  void set_fs_dirty();

  // Calls Runtime::fp for `d` (guest registers written back already); an
  // illegal rounding mode leaves the block for the interpreter.
  void fp_call(const DecodedInsn& d);

  // F/D instructions done inline: moves and sign injection (no flags), and
  // add/sub/mul/div/sqrt in round-to-nearest through SSE, which is exact
  // there (fpu.cpp): NaN results, NaN-unboxed single inputs and other
  // rounding modes go to Runtime::fp. Returns false if `d` is not one.
  bool fp_inline(const DecodedInsn& d);

  // The register holding the access's virtual address: the base register
  // itself when there is no offset, else rax = x[rs1] + imm.
  Reg64 address(const DecodedInsn& d);
  // rcx = the entry's offset in its array (`array`: read or write), rdx
  // clobbered; jumps to `miss` unless the entry maps the access at `va` (its
  // alignment folded into the tag). The entry is then [kTlbReg + rcx + array].
  void tlb_check(const Reg64& va, int32_t array, unsigned size, Label& miss);

  // Loads into `dst` (extended as `sign` says) and returns it. A load in a
  // loop's body whose address comes from loaded data (find_chained_loads)
  // takes its TLB addend from a stack slot holding the one it used last
  // time round, checked against the TLB entry: the host address then waits
  // only for the guest address, not for the entry's load.
  // With `fdst`, an 8-byte load goes to that SSE register instead (dst is
  // then only scratch).
  Reg64 load(const DecodedInsn& d, unsigned size, bool sign, const Reg64& dst = rax,
             const Xmm* fdst = nullptr);
  // The load through the software TLB, jumping to `miss` if it misses.
  void tlb_load(const Reg64& va, unsigned size, bool sign, const Reg64& dst, Label& miss,
                Label& done);
  // dst = the guest value at host address va + addend.
  void load_host(const Reg64& dst, const Reg64& va, const Reg64& addend, unsigned size, bool sign);

  // Stores x[rs2] (or f[rs2] when `fp`).
  void store(const DecodedInsn& d, unsigned size, bool fp);
  // After a slow path's call and a test of its result: leaves through the
  // trap exit for instruction k unless the result was nonzero.
  void trap_unless_nonzero(size_t k);
  // After a slow path that may have stored (its call returned 0 if it
  // trapped): leaves for the dispatcher, instruction k retired, since the
  // store may have hit MMIO or this block's own page.
  void exit_after_slow_store(size_t k, uint64_t next);
  // LR, SC and AMOs (emit_atomic.cpp).
  void atomic(const DecodedInsn& d);
  // A CSR instruction through Runtime::csr (emit_insn.cpp).
  void csr(const Insn& i);

  // rax = x[rs1], rcx = x[rs2] (for ops whose operands must be in those).
  void operands_rax_rcx(const DecodedInsn& d);

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
              void (Xbyak::CodeGenerator::*setcc)(const Xbyak::Operand&));
  void shift_var(const DecodedInsn& d, bool word,
                 void (Xbyak::CodeGenerator::*op)(const Xbyak::Operand&, const Xbyak::Reg8&));
  void shift_imm(const DecodedInsn& d, bool word,
                 void (Xbyak::CodeGenerator::*op)(const Xbyak::Operand&, int));
  void select(const DecodedInsn& d,
              void (Xbyak::CodeGenerator::*cmov)(const Xbyak::Reg&, const Xbyak::Operand&));

  // DIV[U][W] / REM[U][W] with RISC-V's results for x / 0 and overflow.
  void divide(const DecodedInsn& d, bool is_signed, bool rem, bool word);

  // A conditional branch. Returns true if it ended the block. A branch to
  // an instruction of the block jumps there without leaving it: back to
  // the start or to a later one (an inner loop: the instructions that run
  // again are charged again, and when the budget is short it leaves with
  // pc at the target), or forward (an if without else: the skipped
  // instructions' charge is given back). Any other taken branch leaves
  // through a cold side exit, or at the block's end.
  using Jcc = void (Xbyak::CodeGenerator::*)(const Label&, Xbyak::CodeGenerator::LabelType);
  // `jcc` jumps if the branch is taken, `not_jcc` if it is not.
  bool branch(const Insn& i, Jcc jcc, Jcc not_jcc);

  // ADD, OR or XOR with x0 (c.mv is `add rd, x0, rs2`): a move. Returns
  // false, emitting nothing, if neither operand is x0.
  bool copies_operand(const DecodedInsn& d);
  // SLLI by 1..3 and an ADD of the shifted register that overwrites it, as
  // one lea (indexing an array without Zba): one cycle less on the address's
  // dependency chain. Returns false if insns_[k_] does not start that pair.
  bool shift_add(const Insn& i);

  // Emits one instruction, or two fused (k_ is then the second's); returns
  // true if it ended the block.
  bool emit_insn(const Insn& i);

  // ---- branches to instructions of the block other than the first ----
  // Finds them (emit's first step); they make the block load every cached
  // register on entry, so that a register written only on a path a branch
  // skips holds its value at the target either way, and writing it back
  // is always right.
  void find_inner_targets();
  // Instruction k is the target of such a branch.
  bool is_inner_target(size_t k) const { return k < inner_.size() && inner_[k].target; }
  // The instruction of the block at `va`, if it is such a target.
  const size_t* inner_target_at(uint64_t va) const;
  // At instruction k_: joins the state the forward branches to it left;
  // for a backward branch's target, assumes what holds at any point of the
  // block (the later code that jumps back is not emitted yet).
  void merge_inner_state();
  struct InnerTarget {
    bool target = false;
    bool backward = false;  // some branch after it jumps to it
    bool reached = false;   // some forward branch to it has been emitted
    size_t index = 0;
    Label label;
    uint64_t dirty = 0;  // union over the forward branches to it
    uint32_t sext32 = ~0u;
    bool fs_dirty = true;
  };

  Xbyak::CodeGenerator& g_;
  BlockCache& cache_;
  uint64_t va_, gpa_;
  std::vector<Insn> insns_;
  bool interpret_after_;
  size_t k_ = 0;
  std::array<int8_t, 32> host_of_{};  // guest register -> index in kCacheRegs, or -1
  std::array<uint8_t, kCacheRegs.size()>
      guest_of_{};                     // kCacheRegs index -> guest register (0: none)
  std::array<int8_t, 32> fhost_of_{};  // guest f register -> index in kFpCacheRegs, or -1
  uint32_t fcached_ = 0;               // the f registers with an SSE register
  Xbyak::Address fmem_{0};             // fsrc's HartState operand
  uint64_t dirty_ = 0;   // guest registers (x, and f at fbit) whose host copy is newer
  uint32_t sext32_ = 1;  // see known_sext32 (x0 holds 0)
  bool fs_dirty_ = false;
  Label head_;                     // after the register loads: where the budget is taken
  Label body_;                     // after that
  Label no_budget_;                // leaves with pc at the start, the budget untouched
  bool loops_ = false;             // some branch goes back to the start
  bool load_all_ = false;          // loops_, or a branch to another instruction of the block
  std::deque<InnerTarget> inner_;  // one per instruction (find_inner_targets)
  size_t loop_end_ = 0;            // instructions [0, loop_end_) are a loop's body
  std::array<unsigned, 32> weighted_uses_{};
  std::vector<bool> in_loop_;  // instruction k is in an inner loop (allocate_registers)
  std::vector<bool> chained_;  // find_chained_loads
  unsigned addend_slots_ = 0;  // slots given to loads so far
  uint64_t written_ = 0;       // cached guest registers (x, f at fbit) the block writes
  std::deque<Label> labels_;
  std::deque<std::function<void()>> cold_;
  std::vector<std::pair<const uint8_t*, Label*>> fault_sites_;
  Label limit_;  // direct(): the limit constant, after the cold code
  bool limit_used_ = false;
};

}  // namespace vessel::rv::jit
