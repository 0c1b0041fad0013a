// The shape of a block: register caching, the budget, exits, branches.
#include "engine/riscv/jit/emitter.hpp"

namespace vessel::rv::jit {

void Emitter::emit() {
  allocate_registers();
  allocate_fp_registers();
  find_chained_loads();
  const auto n = static_cast<uint32_t>(insns_.size());
  for (const Insn& i : insns_) {
    if (writes_x(i.d) && cached(i.d.rd)) written_ |= 1u << i.d.rd;
    if (writes_f(i.d) && fcached(i.d.rd)) written_ |= fbit(i.d.rd);
    if (is_conditional_branch(i.d.op) && i.va + static_cast<int64_t>(i.d.imm) == va_) loops_ = true;
  }
  find_inner_targets();
  load_all_ = loops_ || load_all_;
  // Load the cached registers the block may read before it writes them
  // (all of them if it loops: the loop's next round reads them too).
  uint32_t written_first = 0, read_first = 0;
  uint32_t fwritten_first = 0, fread_first = 0;
  for (const Insn& i : insns_) {
    read_first |= x_reads(i.d) & ~written_first;
    if (writes_x(i.d) && i.d.rd < 32) written_first |= 1u << i.d.rd;
    fread_first |= f_reads(i.d) & ~fwritten_first;
    if (writes_f(i.d)) fwritten_first |= 1u << i.d.rd;
  }
  for (unsigned i = 0; i < kCacheRegs.size(); ++i) {
    const unsigned r = guest_of_[i];
    if (r != 0 && (load_all_ || ((read_first >> r) & 1) != 0))
      g_.mov(kCacheRegs[i], g_.qword[rbp + off_x(r)]);
  }
  for (unsigned r = 0; r < 32; ++r) {
    if (fcached(r) && (load_all_ || ((fread_first >> r) & 1) != 0))
      g_.movsd(fhost(r), g_.qword[rbp + off_f(r)]);
  }
  load_base_reg();
  check_fp_state();
  // A branch back to the block's start comes here with the guest registers
  // still in host registers; any of those the block writes may then be
  // newer than HartState at any exit.
  g_.L(head_);
  g_.sub(budget_reg(), n);
  g_.jl(no_budget_, Xbyak::CodeGenerator::T_NEAR);
  g_.L(body_);
  if (loops_) dirty_ = written_;
  bool ended = false;
  for (k_ = 0; k_ < insns_.size(); ++k_) {
    if (is_inner_target(k_)) merge_inner_state();
    const size_t first = k_;
    if (insns_[k_].crosses_page) check_second_half(insns_[k_]);
    ended = emit_insn(insns_[k_]);  // may take the next instruction too
    for (size_t j = first; j <= k_; ++j) note_sext32(insns_[j].d);
  }
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
  if (limit_used_) {
    g_.align(8);
    g_.L(limit_);
    g_.dq(cache_.direct_limit());
  }
}

void Emitter::find_inner_targets() {
  inner_.resize(insns_.size());
  for (size_t j = 0; j < insns_.size(); ++j) inner_[j].index = j;
  for (size_t k = 0; k < insns_.size(); ++k) {
    const Insn& i = insns_[k];
    if (!is_conditional_branch(i.d.op)) continue;
    const uint64_t target = i.va + static_cast<int64_t>(i.d.imm);
    if (target == va_) continue;  // the start: loops_
    for (size_t j = 1; j < insns_.size(); ++j) {
      if (insns_[j].va == target && j != k + 1) {
        inner_[j].target = true;
        inner_[j].backward = inner_[j].backward || j <= k;
        load_all_ = true;
        break;
      }
    }
  }
}

const size_t* Emitter::inner_target_at(uint64_t va) const {
  for (const InnerTarget& t : inner_) {
    if (t.target && insns_[t.index].va == va) return &t.index;
  }
  return nullptr;
}

void Emitter::merge_inner_state() {
  InnerTarget& t = inner_[k_];
  if (t.backward) {
    // Whatever the block wrote may be newer than HartState here, and
    // nothing is known of sign extensions (as at the start).
    dirty_ |= written_;
    sext32_ = 1;
  } else if (t.reached) {
    // The dirty registers of either path: with every cached register
    // loaded on entry (load_all_), writing back one the other path left
    // alone writes the value it holds.
    dirty_ |= t.dirty;
    sext32_ &= t.sext32;
  }
  // FS once set dirty stays so for the whole block, so what the paths that
  // arrive from above did holds here; a branch back from below went
  // through here first, with that behind it too.
  if (t.reached) fs_dirty_ = fs_dirty_ && t.fs_dirty;
  g_.L(t.label);
}

void Emitter::load_base_reg() {
  if (direct()) {
    g_.mov(kTlbReg, reinterpret_cast<uint64_t>(cache_.direct_base()));
  } else {
    g_.mov(kTlbReg, g_.qword[rbp + kOffDataTlb]);
  }
}

void Emitter::direct_check(const Reg64& va, Label& slow) {
  limit_used_ = true;
  g_.cmp(va, g_.qword[g_.rip + limit_]);
  g_.jae(slow, Xbyak::CodeGenerator::T_NEAR);
}

// Which of a loop's loads take their addend from a slot (Emitter::load):
// those whose address comes from a load in the loop, this round's or an
// earlier one's (a table lookup on loaded data, a pointer chase). Their
// latency adds up round after round, so the slot's few cycles count; a load
// whose address is arithmetic (an index, a pointer that steps) is not on
// such a chain, and one at random places (a hash table) would only make the
// slot's branch mispredict.
void Emitter::find_chained_loads() {
  const auto is_load = [](Op op) {
    switch (op) {
      case Op::LB:
      case Op::LH:
      case Op::LW:
      case Op::LD:
      case Op::LBU:
      case Op::LHU:
      case Op::LWU:
      case Op::LR_W:
      case Op::LR_D:
      case Op::SC_W:
      case Op::SC_D:
      case Op::AMO_W:
      case Op::AMO_D: return true;
      default: return false;
    }
  };
  chained_.assign(insns_.size(), false);
  // x registers holding values that come from a load, at the loop's start
  // (from the round before) and as the body goes on; to a fixed point.
  uint32_t at_start = 0;
  for (;;) {
    uint32_t loaded = at_start;
    for (size_t k = 0; k < loop_end_; ++k) {
      const DecodedInsn& d = insns_[k].d;
      if (is_load(d.op) || d.op == Op::FLW || d.op == Op::FLD)
        chained_[k] = ((loaded >> d.rs1) & 1) != 0;
      if (writes_x(d) && d.rd < 32) {
        const bool from_load = is_load(d.op) || (x_reads(d) & loaded) != 0;
        loaded = from_load ? loaded | (1u << d.rd) : loaded & ~(1u << d.rd);
      }
    }
    if ((at_start | loaded) == at_start) break;
    at_start |= loaded;
  }
}

void Emitter::allocate_registers() {
  size_t loop_end = 0;  // instructions [0, loop_end) are a loop's body
  for (size_t k = 0; k < insns_.size(); ++k) {
    const Insn& i = insns_[k];
    if (is_conditional_branch(i.d.op) && i.va + static_cast<int64_t>(i.d.imm) == va_)
      loop_end = k + 1;
  }
  loop_end_ = loop_end;
  // Inner loops (a branch back to a later instruction of the block) weigh
  // as much.
  in_loop_.assign(insns_.size(), false);
  for (size_t k = 0; k < insns_.size(); ++k) {
    const Insn& i = insns_[k];
    if (!is_conditional_branch(i.d.op)) continue;
    const uint64_t target = i.va + static_cast<int64_t>(i.d.imm);
    for (size_t j = 0; j <= k; ++j) {
      if (insns_[j].va == target) {
        for (size_t m = j; m <= k; ++m) in_loop_[m] = true;
        break;
      }
    }
  }
  const std::array<uint8_t, 32> order =
      by_weighted_uses(x_reads, [](const DecodedInsn& d) { return writes_x(d) && d.rd < 32; });
  const std::array<unsigned, 32>& uses = weighted_uses_;  // x0's is 0: x_reads, writes_x
  host_of_.fill(-1);
  guest_of_.fill(0);
  for (unsigned i = 0; i < kCacheRegs.size() && uses[order[i]] != 0; ++i) {
    host_of_[order[i]] = static_cast<int8_t>(i);
    guest_of_[i] = order[i];
  }
}

void Emitter::note_sext32(const DecodedInsn& d) {
  if (!writes_x(d) || d.rd >= 32) return;
  const uint32_t bit = 1u << d.rd;
  sext32_ = result_is_sext32(d, sext32_) ? sext32_ | bit : sext32_ & ~bit;
}

template <typename Reads, typename Writes>
std::array<uint8_t, 32> Emitter::by_weighted_uses(Reads reads_of, Writes writes_rd) {
  constexpr unsigned kLoopWeight = 16;
  std::array<unsigned, 32>& uses = weighted_uses_;
  uses.fill(0);
  for (size_t k = 0; k < insns_.size(); ++k) {
    const DecodedInsn& d = insns_[k].d;
    const unsigned w = k < loop_end_ || in_loop_[k] ? kLoopWeight : 1;
    const uint32_t reads = reads_of(d);
    for (unsigned r = 0; r < 32; ++r) {
      if ((reads >> r) & 1) uses[r] += w;
    }
    if (writes_rd(d)) uses[d.rd] += w;
  }
  std::array<uint8_t, 32> order{};
  for (uint8_t r = 0; r < 32; ++r) order[r] = r;
  std::stable_sort(order.begin(), order.end(),
                   [&](uint8_t a, uint8_t b) { return uses[a] > uses[b]; });
  return order;
}

void Emitter::allocate_fp_registers() {
  fhost_of_.fill(-1);
  fcached_ = 0;
  if (std::none_of(insns_.begin(), insns_.end(),
                   [](const Insn& i) { return f_reads(i.d) != 0 || writes_f(i.d); }))
    return;  // most blocks: no F/D at all
  const std::array<uint8_t, 32> order = by_weighted_uses(f_reads, writes_f);
  const std::array<unsigned, 32>& uses = weighted_uses_;
  for (unsigned i = 0; i < kFpCacheRegs.size() && uses[order[i]] != 0; ++i) {
    fhost_of_[order[i]] = static_cast<int8_t>(i);
    fcached_ |= 1u << order[i];
  }
}

void Emitter::reload_after_call(unsigned also) {
  load_base_reg();
  for (unsigned i = 0; i < kCacheRegs.size(); ++i) {
    const unsigned r = guest_of_[i];
    if (r != 0 && (i >= kCalleeSaved || r == also)) g_.mov(kCacheRegs[i], g_.qword[rbp + off_x(r)]);
  }
  for (uint32_t m = fcached_; m != 0; m &= m - 1) {
    const auto r = static_cast<unsigned>(std::countr_zero(m));
    g_.movsd(fhost(r), g_.qword[rbp + off_f(r)]);
  }
}

void Emitter::fget(const Xmm& dst, unsigned r) {
  if (!fcached(r)) {
    g_.movsd(dst, g_.qword[rbp + off_f(r)]);
  } else if (fhost(r).getIdx() != dst.getIdx()) {
    g_.movapd(dst, fhost(r));
  }
}

void Emitter::fget(const Reg64& dst, unsigned r) {
  if (fcached(r)) {
    g_.movq(dst, fhost(r));
  } else {
    g_.mov(dst, g_.qword[rbp + off_f(r)]);
  }
}

void Emitter::fput(unsigned rd, const Xmm& v) {
  if (!fcached(rd)) {
    g_.movsd(g_.qword[rbp + off_f(rd)], v);
    return;
  }
  if (fhost(rd).getIdx() != v.getIdx()) g_.movapd(fhost(rd), v);
  dirty_ |= fbit(rd);
}

void Emitter::fput(unsigned rd, const Reg64& v) {
  if (!fcached(rd)) {
    g_.mov(g_.qword[rbp + off_f(rd)], v);
    return;
  }
  g_.movq(fhost(rd), v);
  dirty_ |= fbit(rd);
}

void Emitter::set_pc(uint64_t pc) {
  g_.mov(rax, pc);
  g_.mov(g_.qword[rbp + kOffPc], rax);
}

void Emitter::exit_to(uint64_t target) {
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
  jump_through_cache(target);
}

void Emitter::jump_through_cache() {
  g_.mov(rcx, g_.qword[rbp + kOffFetchTlb]);
  g_.mov(edx, eax);
  g_.shr(edx, 1);
  g_.and_(edx, kJumpCacheEntries - 1);
  g_.shl(edx, 4);
  g_.cmp(rax, g_.qword[rcx + rdx + kOffTlbJump]);
  g_.jne(static_cast<const void*>(cache_.lookup_miss_code()));
  g_.jmp(g_.qword[rcx + rdx + kOffTlbJump + 8]);
}

void Emitter::jump_through_cache(uint64_t target) {
  const int32_t entry = kOffTlbJump + static_cast<int32_t>(sizeof(JumpCacheEntry)) *
                                          static_cast<int32_t>((target >> 1) % kJumpCacheEntries);
  g_.mov(rcx, g_.qword[rbp + kOffFetchTlb]);
  g_.cmp(rax, g_.qword[rcx + entry]);  // rax = target (set_pc)
  g_.jne(static_cast<const void*>(cache_.lookup_miss_code()));
  g_.jmp(g_.qword[rcx + entry + 8]);
}

void Emitter::exit_here(uint32_t exit) {
  const auto refund = static_cast<uint32_t>(insns_.size() - k_);
  g_.add(budget_reg(), refund);
  set_pc(insns_[k_].va);
  g_.mov(eax, exit);
  g_.jmp(cache_.exit_code(), Xbyak::CodeGenerator::T_NEAR);
}

void Emitter::check_second_half(const Insn& i) {
  const uint64_t next_page = (i.va & ~uint64_t{0xfff}) + 4096;
  const int32_t entry = kOffTlbFetch + static_cast<int32_t>(sizeof(FetchTlbEntry)) *
                                           static_cast<int32_t>((next_page >> 12) % kTlbEntries);
  Label& miss = label();
  Label& stale = label();
  g_.mov(rdx, g_.qword[rbp + kOffFetchTlb]);
  g_.mov(rax, next_page);
  g_.cmp(g_.qword[rdx + entry + kOffFetchVpage], rax);
  g_.jne(miss, Xbyak::CodeGenerator::T_NEAR);
  g_.mov(rdx, g_.qword[rdx + entry + kOffFetchHost]);
  g_.movzx(edx, g_.word[rdx]);  // (xbyak refuses a 16-bit immediate above 0x7fff)
  g_.cmp(edx, i.high);
  g_.jne(stale, Xbyak::CodeGenerator::T_NEAR);
  const uint64_t mask = dirty_;
  const auto refund = static_cast<uint32_t>(insns_.size() - k_);
  // Not in the fetch TLB: the interpreter runs it (and fills the entry).
  // Other bits there: this translation is out of date.
  for (const auto& target : {std::pair{&miss, kExitInterpret}, std::pair{&stale, kExitStale}}) {
    // (Not a structured binding: clang 14 cannot capture one.)
    Label* const at = target.first;
    const uint32_t exit = target.second;
    cold([this, at, exit, mask, refund, va = i.va] {
      g_.L(*at);
      writeback(mask);
      g_.add(budget_reg(), refund);
      set_pc(va);
      g_.mov(eax, exit);
      g_.jmp(cache_.exit_code(), Xbyak::CodeGenerator::T_NEAR);
    });
  }
}

bool Emitter::branch(const Insn& i, Jcc jcc, Jcc not_jcc) {
  using G = Xbyak::CodeGenerator;
  const DecodedInsn& d = i.d;
  const uint64_t target = i.va + static_cast<int64_t>(d.imm);
  const bool last = k_ + 1 == insns_.size();
  // Instructions of the block after this one, which do not run when it is taken.
  const auto skipped = static_cast<uint32_t>(insns_.size() - k_ - 1);
  const Reg64 a = get(d.rs1, rax);
  if (d.rs2 == 0) {
    g_.test(a, a);  // the flags of cmp a, 0
  } else {
    g_.cmp(a, get(d.rs2, rcx));
  }
  if (target == va_) {
    if (skipped == 0) {
      (g_.*jcc)(head_, G::T_NEAR);
    } else {
      // This round ran k + 1 of the n instructions it was charged for; the
      // next is charged n again: together, k + 1 more. Inline, so that a
      // round takes one jump, not two.
      Label& leave = label();
      (g_.*not_jcc)(leave, G::T_NEAR);
      g_.sub(budget_reg(), static_cast<uint32_t>(k_ + 1));
      g_.jge(body_, G::T_NEAR);
      g_.jmp(no_budget_, G::T_NEAR);  // gives the next round's n back
      g_.L(leave);
    }
    if (!last) return false;
    writeback();
    exit_to(i.va + d.len);
    return true;
  }
  if (const size_t* inner = inner_target_at(target)) {
    const size_t j = *inner;
    InnerTarget& t = inner_[j];
    if (j <= k_) {
      // Back: instructions j..k run again, charged again; too little
      // budget leaves with pc at the target, the rest of the charge given
      // back (as no_budget_ does for the start).
      Label& stay = label();
      Label& short_budget = label();
      (g_.*not_jcc)(stay, G::T_NEAR);
      g_.sub(budget_reg(), static_cast<uint32_t>(k_ - j + 1));
      g_.jge(t.label, G::T_NEAR);
      g_.jmp(short_budget, G::T_NEAR);
      g_.L(stay);
      const uint64_t mask = dirty_;
      const auto give_back = static_cast<uint32_t>(insns_.size() - j);
      cold([this, &short_budget, mask, give_back, target] {
        g_.L(short_budget);
        writeback(mask);
        g_.add(budget_reg(), give_back);
        set_pc(target);
        g_.mov(eax, kExitLookup);
        g_.jmp(cache_.exit_code(), G::T_NEAR);
      });
      if (!last) return false;
      writeback();
      exit_to(i.va + d.len);
      return true;
    }
    t.reached = true;
    t.dirty |= dirty_;
    t.sext32 &= sext32_;
    t.fs_dirty = t.fs_dirty && fs_dirty_;
    // Taken: the skipped instructions' charge back (lea: the flags stay),
    // then on at the target.
    Label& fall = label();
    (g_.*not_jcc)(fall, G::T_NEAR);
    g_.lea(budget_reg(), g_.ptr[budget_reg() + static_cast<int32_t>(j - k_ - 1)]);
    g_.jmp(t.label, G::T_NEAR);
    g_.L(fall);
    return false;
  }
  if (!last) {
    Label& taken = label();
    (g_.*jcc)(taken, G::T_NEAR);
    const uint64_t mask = dirty_;
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

}  // namespace vessel::rv::jit
