// The interpreter loop: threaded dispatch over decoded instructions.
//
// Why this shape: the program counter is implied by the position of the
// current DecodedInsn in its page's array, so straight-line code and branches
// inside a page never touch `pc` or the TLB; only leaving the page goes back
// through `refetch`. Dispatch is a computed goto (GCC labels as values), one
// indirect jump per instruction with no call, and the instruction budget
// lives in a register, which makes the retired-instruction count exact.
#include <bit>
#include <cstring>

#include "engine/riscv/csr_numbers.hpp"
#include "engine/riscv/decoder.hpp"
#include "engine/riscv/hart.hpp"
#include "memory/guest_ram.hpp"

namespace vessel::rv {

namespace {

inline int64_t sext32(uint64_t v) {
  return static_cast<int32_t>(static_cast<uint32_t>(v));
}

inline uint64_t orc_b(uint64_t v) {
  uint64_t r = 0;
  for (unsigned i = 0; i < 8; ++i) {
    if (((v >> (8 * i)) & 0xff) != 0) r |= 0xffull << (8 * i);
  }
  return r;
}

inline uint64_t mulhu(uint64_t a, uint64_t b) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(a) * b) >> 64);
}
inline uint64_t mulh(int64_t a, int64_t b) {
  return static_cast<uint64_t>((static_cast<__int128>(a) * b) >> 64);
}
inline uint64_t mulhsu(int64_t a, uint64_t b) {
  return static_cast<uint64_t>((static_cast<__int128>(a) * static_cast<__int128>(b)) >> 64);
}

// Handlers come in two entries, for 2- and 4-byte instructions.
inline unsigned dispatch_index(const DecodedInsn& d) {
  return (static_cast<unsigned>(d.op) << 1) | (d.len >> 2);
}

}  // namespace

uint64_t Hart::interpret(uint64_t budget, StopReason& stop, uint64_t* consumed,
                         uint64_t jumps_after) {
  static const void* const kLabels[] = {
#define VESSEL_RV_LABEL(name) &&op_##name##_2, &&op_##name##_4,
      VESSEL_RV_OPS(VESSEL_RV_LABEL)
#undef VESSEL_RV_LABEL
  };
  static_assert(sizeof(kLabels) / sizeof(kLabels[0]) == 2 * static_cast<size_t>(Op::kCount));

  stop = StopReason::kBudget;
  stop_requested_ = false;
  wfi_ = false;  // the machine runs a waiting hart only once an interrupt is pending
  catch_up_code_epoch();
  if (consumed != nullptr) *consumed = 0;
  if (budget == 0) return 0;
  const uint64_t start_instret = instret_;
  // Dispatches left in this run. Every dispatch takes one; traps take one too
  // (so a fault loop still ends the run) and are counted in `traps`.
  int64_t remaining = static_cast<int64_t>(budget);
  int64_t traps = 0;
  // A taken jump ends the run once `remaining` is down to this.
  const int64_t jump_stop =
      jumps_after >= budget ? INT64_MIN : static_cast<int64_t>(budget - jumps_after);
  uint64_t* const xr = x;
  DecodedInsn* d = nullptr;
  DecodedInsn* page_insns = nullptr;
  uint64_t page_va = 0;
  FetchTlbEntry* fe = nullptr;
  Tlb* dtlb = data_tlb_;
  DecodedInsn scratch[3];  // a 4-byte instruction that straddles two pages
  unsigned step = 1;       // the current instruction's length in 2-byte slots

#define PC_OF(p) (page_va + (static_cast<uint64_t>((p)-page_insns) << 1))
#define SYNC_INSTRET()        \
  (instret_ = start_instret + \
              static_cast<uint64_t>(static_cast<int64_t>(budget) - remaining - 1 - traps))
#define DISPATCH()                     \
  do {                                 \
    if (--remaining < 0) [[unlikely]]  \
      goto out_of_budget;              \
    goto* kLabels[dispatch_index(*d)]; \
  } while (0)
// The entry stub of each handler sets `step` (slots of 2 bytes) from the
// instruction length, as a constant, so the next record's address does not
// wait for a load of this one (the dependency chain that limits dispatch).
#define NEXT()  \
  do {          \
    d += step;  \
    DISPATCH(); \
  } while (0)
// Continue at `pc`, set by the instruction: stay in the page if possible.
#define JUMP_TO_PC()                          \
  do {                                        \
    if ((pc & ~uint64_t{0xfff}) == page_va) { \
      d = page_insns + ((pc & 0xfff) >> 1);   \
      DISPATCH();                             \
    }                                         \
    goto refetch;                             \
  } while (0)
#define NEXT_VIA_REFETCH()  \
  do {                      \
    pc = PC_OF(d) + d->len; \
    goto refetch;           \
  } while (0)
// After an AMO or SC: the store may have reset this page's decoded slots
// (so `len` was saved first) or hit a page the VMM watches (HTIF tohost).
#define AFTER_ATOMIC_STORE(len)         \
  do {                                  \
    if (stop_requested_) [[unlikely]] { \
      pc = PC_OF(d) + (len);            \
      goto refetch;                     \
    }                                   \
    d += (len) >> 1;                    \
    DISPATCH();                         \
  } while (0)
#define XR(field) xr[d->field]
#define IMM static_cast<int64_t>(d->imm)

refetch:
  // pc is authoritative here. Take interrupts, honour stop requests, and find
  // the decoded page for pc. A trap taken here costs one budget unit, and
  // only while budget is left, so run(a) then run(b) equals run(a + b).
  if (remaining <= 0) [[unlikely]]
    goto finish;
  if (stop_requested_) [[unlikely]] {
    stop = StopReason::kRequested;
    goto finish;
  }
  if ((pending_interrupts() & mie_) != 0) [[unlikely]] {
    if (take_interrupt()) {
      ++traps;
      --remaining;
      goto refetch;
    }
  }
  dtlb = data_tlb_;
  fe = &fetch_tlb_->fetch[(pc >> 12) % kTlbEntries];
  if (fe->vpage != (pc & ~uint64_t{0xfff})) {
    if (!fill_fetch(pc, fe)) {
      take_trap(pc);
      ++traps;
      --remaining;
      goto refetch;
    }
  }
  code_.refresh(fe->gpa, *fe->page);  // another hart (or a device) wrote it
  page_va = fe->vpage;
  page_insns = fe->page->insns;
  d = page_insns + ((pc & 0xfff) >> 1);
  DISPATCH();

out_of_budget:
  pc = PC_OF(d);
  remaining = 0;
  goto finish;

trap:
  // The current instruction raised an exception (raise() recorded it).
  pc = PC_OF(d);
  take_trap(pc);
  ++traps;
  goto refetch;

illegal:
  raise(cause::kIllegal, d->raw);
  goto trap;

finish:
  if (consumed != nullptr) *consumed = budget - static_cast<uint64_t>(remaining);
  instret_ =
      start_instret + static_cast<uint64_t>(static_cast<int64_t>(budget) - remaining - traps);
  return instret_ - start_instret;

  // ---- Entry stubs: one per handler and instruction length ----
#define VESSEL_RV_STUB(name) \
  op_##name##_2 : step = 1;  \
  goto op_##name;            \
  op_##name##_4 : step = 2;  \
  goto op_##name;
  VESSEL_RV_OPS(VESSEL_RV_STUB)
#undef VESSEL_RV_STUB

  // ---- Markers ----
op_UNDECODED : {
  const unsigned offset = static_cast<unsigned>(d - page_insns) << 1;
  if ((memory_.page_flags(fe->gpa) & GuestMemory::kPageCode) == 0 && code_.mark_code(fe->gpa)) {
    sync_code_epoch();  // stores to the page must now be seen
  }
  note_code_read(fe->gpa);
  uint16_t low;
  low = guest_ram_load<uint16_t>(fe->host + offset);
  uint32_t raw = low;
  if (insn_length(low) == 4) {
    if (offset == 4094) {
      d->op = Op::CROSS_PAGE;  // re-fetched every time: the other page is not tracked
      ++fe->page->decoded;
      goto op_CROSS_PAGE;
    }
    uint16_t high;
    high = guest_ram_load<uint16_t>(fe->host + offset + 2);
    raw |= static_cast<uint32_t>(high) << 16;
  }
  *d = decode(raw, offset);
  ++fe->page->decoded;
  goto* kLabels[dispatch_index(*d)];
}

op_CROSS_PAGE : {
  pc = PC_OF(d);
  uint16_t low;
  low = guest_ram_load<uint16_t>(fe->host + 4094);
  uint64_t high = 0;
  FetchTlbEntry* next = nullptr;
  if (!fill_fetch(pc + 2, next)) {
    trap_tval_ = pc + 2;  // the part of the instruction that faulted
    take_trap(pc);
    ++traps;
    goto refetch;
  }
  high = guest_ram_load<uint16_t>(next->host);
  scratch[0] = decode(low | static_cast<uint32_t>(high << 16), 4094);
  scratch[0].flags &= static_cast<uint8_t>(~kInPageTarget);
  scratch[1].op = Op::SCRATCH_END;
  scratch[2].op = Op::SCRATCH_END;
  // Pretend the scratch array is a page starting at pc (never page-aligned,
  // so JUMP_TO_PC cannot mistake it for the real page).
  page_va = pc;
  page_insns = scratch;
  d = scratch;
  goto* kLabels[dispatch_index(*d)];
}

op_PAGE_END:
op_SCRATCH_END:
  ++remaining;  // not an instruction
  pc = PC_OF(d);
  goto refetch;

op_ILLEGAL:
  goto illegal;
op_NOP:
op_FENCE:
  // x86-64 keeps every order RVWMO's fences ask for but store -> load.
  if (fence_orders_store_load(d->imm)) std::atomic_thread_fence(std::memory_order_seq_cst);
  NEXT();
op_FENCE_I:
  fence_i();
  NEXT_VIA_REFETCH();

  // ---- RV64I ----
op_LUI:
  XR(rd) = static_cast<uint64_t>(IMM);
  NEXT();
op_AUIPC:
  XR(rd) = PC_OF(d) + IMM;
  NEXT();
op_LI:
  XR(rd) = static_cast<uint64_t>(IMM);
  NEXT();
op_MV:
  XR(rd) = XR(rs1);
  NEXT();
op_JAL : {
  XR(rd) = PC_OF(d) + d->len;
  goto take_branch;
}
op_JALR : {
  const uint64_t target = (XR(rs1) + IMM) & ~uint64_t{1};
  XR(rd) = PC_OF(d) + d->len;
  pc = target;
  if (remaining <= jump_stop) [[unlikely]]
    goto finish;
  JUMP_TO_PC();
}
take_branch:
  if (remaining <= jump_stop) [[unlikely]] {
    pc = PC_OF(d) + IMM;
    goto finish;
  }
  if ((d->flags & kInPageTarget) != 0) {
    d += d->imm >> 1;
    DISPATCH();
  }
  pc = PC_OF(d) + IMM;
  goto refetch;
op_BEQ:
  if (XR(rs1) == XR(rs2)) goto take_branch;
  NEXT();
op_BNE:
  if (XR(rs1) != XR(rs2)) goto take_branch;
  NEXT();
op_BLT:
  if (static_cast<int64_t>(XR(rs1)) < static_cast<int64_t>(XR(rs2))) goto take_branch;
  NEXT();
op_BGE:
  if (static_cast<int64_t>(XR(rs1)) >= static_cast<int64_t>(XR(rs2))) goto take_branch;
  NEXT();
op_BLTU:
  if (XR(rs1) < XR(rs2)) goto take_branch;
  NEXT();
op_BGEU:
  if (XR(rs1) >= XR(rs2)) goto take_branch;
  NEXT();

#define LOAD_OP(T, CONV)                                                           \
  {                                                                                \
    const uint64_t va = XR(rs1) + IMM;                                             \
    const TlbEntry& e = dtlb->read[(va >> 12) % kTlbEntries];                      \
    if (e.vpage == (va & (~uint64_t{0xfff} | (sizeof(T) - 1)))) [[likely]] {       \
      /* SAFETY: the entry maps this whole aligned access into guest RAM. */       \
      const T v = guest_ram_load<T>(reinterpret_cast<const void*>(va + e.addend)); \
      XR(rd) = CONV(v);                                                            \
      NEXT();                                                                      \
    }                                                                              \
    uint64_t v = 0;                                                                \
    if (!load_slow(va, sizeof(T), v)) goto trap;                                   \
    XR(rd) = CONV(static_cast<T>(v));                                              \
    NEXT();                                                                        \
  }
#define SIGNED(v) static_cast<uint64_t>(static_cast<int64_t>(v))
#define UNSIGNED(v) static_cast<uint64_t>(v)
op_LB:
  LOAD_OP(int8_t, SIGNED)
op_LH:
  LOAD_OP(int16_t, SIGNED)
op_LW:
  LOAD_OP(int32_t, SIGNED)
op_LD:
  LOAD_OP(uint64_t, UNSIGNED)
op_LBU:
  LOAD_OP(uint8_t, UNSIGNED)
op_LHU:
  LOAD_OP(uint16_t, UNSIGNED)
op_LWU:
  LOAD_OP(uint32_t, UNSIGNED)

#define STORE_OP(T, VALUE)                                                        \
  {                                                                               \
    const uint64_t va = XR(rs1) + IMM;                                            \
    const TlbEntry& e = dtlb->write[(va >> 12) % kTlbEntries];                    \
    const T v = static_cast<T>(VALUE);                                            \
    if (e.vpage == (va & (~uint64_t{0xfff} | (sizeof(T) - 1)))) [[likely]] {      \
      /* SAFETY: write entries exist only for RAM pages without decoded code. */  \
      guest_ram_store<T>(reinterpret_cast<void*>(va + e.addend), v);              \
      NEXT();                                                                     \
    }                                                                             \
    const uint8_t len = d->len;                                                   \
    if (!store_slow(va, sizeof(T), v)) goto trap;                                 \
    /* The store may have hit MMIO or rewritten this very page: go via refetch */ \
    pc = PC_OF(d) + len;                                                          \
    goto refetch;                                                                 \
  }
op_SB:
  STORE_OP(uint8_t, XR(rs2))
op_SH:
  STORE_OP(uint16_t, XR(rs2))
op_SW:
  STORE_OP(uint32_t, XR(rs2))
op_SD:
  STORE_OP(uint64_t, XR(rs2))

op_ADDI:
  XR(rd) = XR(rs1) + IMM;
  NEXT();
op_SLTI:
  XR(rd) = static_cast<int64_t>(XR(rs1)) < IMM ? 1 : 0;
  NEXT();
op_SLTIU:
  XR(rd) = XR(rs1) < static_cast<uint64_t>(IMM) ? 1 : 0;
  NEXT();
op_XORI:
  XR(rd) = XR(rs1) ^ static_cast<uint64_t>(IMM);
  NEXT();
op_ORI:
  XR(rd) = XR(rs1) | static_cast<uint64_t>(IMM);
  NEXT();
op_ANDI:
  XR(rd) = XR(rs1) & static_cast<uint64_t>(IMM);
  NEXT();
op_SLLI:
  XR(rd) = XR(rs1) << d->imm;
  NEXT();
op_SRLI:
  XR(rd) = XR(rs1) >> d->imm;
  NEXT();
op_SRAI:
  XR(rd) = static_cast<uint64_t>(static_cast<int64_t>(XR(rs1)) >> d->imm);
  NEXT();
op_ADD:
  XR(rd) = XR(rs1) + XR(rs2);
  NEXT();
op_SUB:
  XR(rd) = XR(rs1) - XR(rs2);
  NEXT();
op_SLL:
  XR(rd) = XR(rs1) << (XR(rs2) & 63);
  NEXT();
op_SLT:
  XR(rd) = static_cast<int64_t>(XR(rs1)) < static_cast<int64_t>(XR(rs2)) ? 1 : 0;
  NEXT();
op_SLTU:
  XR(rd) = XR(rs1) < XR(rs2) ? 1 : 0;
  NEXT();
op_XOR:
  XR(rd) = XR(rs1) ^ XR(rs2);
  NEXT();
op_SRL:
  XR(rd) = XR(rs1) >> (XR(rs2) & 63);
  NEXT();
op_SRA:
  XR(rd) = static_cast<uint64_t>(static_cast<int64_t>(XR(rs1)) >> (XR(rs2) & 63));
  NEXT();
op_OR:
  XR(rd) = XR(rs1) | XR(rs2);
  NEXT();
op_AND:
  XR(rd) = XR(rs1) & XR(rs2);
  NEXT();
op_ADDIW:
  XR(rd) = sext32(XR(rs1) + IMM);
  NEXT();
op_SLLIW:
  XR(rd) = sext32(XR(rs1) << d->imm);
  NEXT();
op_SRLIW:
  XR(rd) = sext32(static_cast<uint32_t>(XR(rs1)) >> d->imm);
  NEXT();
op_SRAIW:
  XR(rd) = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(XR(rs1)) >> d->imm));
  NEXT();
op_ADDW:
  XR(rd) = sext32(XR(rs1) + XR(rs2));
  NEXT();
op_SUBW:
  XR(rd) = sext32(XR(rs1) - XR(rs2));
  NEXT();
op_SLLW:
  XR(rd) = sext32(XR(rs1) << (XR(rs2) & 31));
  NEXT();
op_SRLW:
  XR(rd) = sext32(static_cast<uint32_t>(XR(rs1)) >> (XR(rs2) & 31));
  NEXT();
op_SRAW:
  XR(rd) =
      static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(XR(rs1)) >> (XR(rs2) & 31)));
  NEXT();

  // ---- M ----
op_MUL:
  XR(rd) = XR(rs1) * XR(rs2);
  NEXT();
op_MULH:
  XR(rd) = mulh(static_cast<int64_t>(XR(rs1)), static_cast<int64_t>(XR(rs2)));
  NEXT();
op_MULHSU:
  XR(rd) = mulhsu(static_cast<int64_t>(XR(rs1)), XR(rs2));
  NEXT();
op_MULHU:
  XR(rd) = mulhu(XR(rs1), XR(rs2));
  NEXT();
op_DIV : {
  const auto a = static_cast<int64_t>(XR(rs1)), b = static_cast<int64_t>(XR(rs2));
  if (b == 0)
    XR(rd) = ~uint64_t{0};
  else if (a == INT64_MIN && b == -1)
    XR(rd) = static_cast<uint64_t>(a);
  else
    XR(rd) = static_cast<uint64_t>(a / b);
  NEXT();
}
op_DIVU : {
  const uint64_t a = XR(rs1), b = XR(rs2);
  XR(rd) = b == 0 ? ~uint64_t{0} : a / b;
  NEXT();
}
op_REM : {
  const auto a = static_cast<int64_t>(XR(rs1)), b = static_cast<int64_t>(XR(rs2));
  if (b == 0)
    XR(rd) = static_cast<uint64_t>(a);
  else if (a == INT64_MIN && b == -1)
    XR(rd) = 0;
  else
    XR(rd) = static_cast<uint64_t>(a % b);
  NEXT();
}
op_REMU : {
  const uint64_t a = XR(rs1), b = XR(rs2);
  XR(rd) = b == 0 ? a : a % b;
  NEXT();
}
op_MULW:
  XR(rd) = sext32(XR(rs1) * XR(rs2));
  NEXT();
op_DIVW : {
  const auto a = static_cast<int32_t>(XR(rs1)), b = static_cast<int32_t>(XR(rs2));
  if (b == 0)
    XR(rd) = ~uint64_t{0};
  else if (a == INT32_MIN && b == -1)
    XR(rd) = static_cast<uint64_t>(static_cast<int64_t>(a));
  else
    XR(rd) = static_cast<uint64_t>(static_cast<int64_t>(a / b));
  NEXT();
}
op_DIVUW : {
  const auto a = static_cast<uint32_t>(XR(rs1)), b = static_cast<uint32_t>(XR(rs2));
  XR(rd) = b == 0 ? ~uint64_t{0} : sext32(a / b);
  NEXT();
}
op_REMW : {
  const auto a = static_cast<int32_t>(XR(rs1)), b = static_cast<int32_t>(XR(rs2));
  if (b == 0)
    XR(rd) = static_cast<uint64_t>(static_cast<int64_t>(a));
  else if (a == INT32_MIN && b == -1)
    XR(rd) = 0;
  else
    XR(rd) = static_cast<uint64_t>(static_cast<int64_t>(a % b));
  NEXT();
}
op_REMUW : {
  const auto a = static_cast<uint32_t>(XR(rs1)), b = static_cast<uint32_t>(XR(rs2));
  XR(rd) = sext32(b == 0 ? a : a % b);
  NEXT();
}

  // ---- A ----
op_LR_W:
op_LR_D : {
  uint64_t v = 0;
  if (!atomic(d->op, AmoOp::kAdd, XR(rs1), 0, v)) goto trap;
  XR(rd) = v;
  NEXT();
}
op_SC_W:
op_SC_D:
op_AMO_W:
op_AMO_D : {
  // The store may reset this page's decoded slots: read `d` first.
  const uint8_t len = d->len;
  const uint8_t rd = d->rd;
  uint64_t v = 0;
  if (!atomic(d->op, static_cast<AmoOp>(d->aux), XR(rs1), XR(rs2), v)) goto trap;
  xr[rd] = v;
  AFTER_ATOMIC_STORE(len);
}

  // ---- System ----
op_ECALL:
  pc = PC_OF(d);
  if (priv_ == Priv::kSupervisor && sbi_handler) {
    SYNC_INSTRET();
    const uint64_t next = pc + 4;
    if (sbi_handler(*this)) {
      pc = next;
      goto refetch;
    }
  }
  raise(cause::kEcallU + static_cast<uint64_t>(priv_), 0);
  goto trap;
op_EBREAK:
  raise(cause::kBreakpoint, PC_OF(d));
  goto trap;
op_MRET:
  if (priv_ != Priv::kMachine) goto illegal;
  do_mret();
  goto refetch;
op_SRET:
  if (priv_ == Priv::kUser || (priv_ == Priv::kSupervisor && (mstatus_ & mstatus::kTsr) != 0)) {
    goto illegal;
  }
  do_sret();
  goto refetch;
op_WFI:
  if (priv_ == Priv::kUser || (priv_ == Priv::kSupervisor && (mstatus_ & mstatus::kTw) != 0)) {
    goto illegal;
  }
  pc = PC_OF(d) + d->len;
  if (!wake_pending()) {
    wfi_ = true;
    stop = StopReason::kWfi;
    goto finish;
  }
  goto refetch;
op_SFENCE_VMA:
  if (priv_ == Priv::kUser || (priv_ == Priv::kSupervisor && (mstatus_ & mstatus::kTvm) != 0)) {
    goto illegal;
  }
  flush_tlbs();
  NEXT_VIA_REFETCH();

#define CSR_OP(IS_WRITE, NEW_VALUE)                                     \
  {                                                                     \
    SYNC_INSTRET();                                                     \
    const auto number = static_cast<uint16_t>(d->imm);                  \
    const bool write = (IS_WRITE);                                      \
    if (!csr_accessible(number, write)) goto illegal;                   \
    uint64_t old = 0;                                                   \
    if (!csr_read(number, old)) goto illegal;                           \
    if (write) {                                                        \
      [[maybe_unused]] const uint64_t base = csr_rmw_base(number, old); \
      const uint64_t operand = (NEW_VALUE);                             \
      if (!csr_write(number, operand)) goto illegal;                    \
      XR(rd) = old;                                                     \
      NEXT_VIA_REFETCH(); /* may change translation or interrupts */    \
    }                                                                   \
    XR(rd) = old;                                                       \
    NEXT();                                                             \
  }
op_CSRRW:
  CSR_OP(true, XR(rs1))
op_CSRRS:
  CSR_OP(d->rs1 != 0, base | XR(rs1))
op_CSRRC:
  CSR_OP(d->rs1 != 0, base & ~XR(rs1))
op_CSRRWI:
  CSR_OP(true, static_cast<uint64_t>(d->rs1))
op_CSRRSI:
  CSR_OP(d->rs1 != 0, base | d->rs1)
op_CSRRCI:
  CSR_OP(d->rs1 != 0, base & ~static_cast<uint64_t>(d->rs1))

  // ---- F / D ----
op_FLW:
  if ((mstatus_ & mstatus::kFs) == 0) goto illegal;
  {
    const uint64_t va = XR(rs1) + IMM;
    const TlbEntry& e = dtlb->read[(va >> 12) % kTlbEntries];
    uint32_t v;
    if (e.vpage == (va & (~uint64_t{0xfff} | 3))) [[likely]] {
      v = guest_ram_load<uint32_t>(reinterpret_cast<const void*>(va + e.addend));
    } else {
      uint64_t w = 0;
      if (!load_slow(va, 4, w)) goto trap;
      v = static_cast<uint32_t>(w);
    }
    fp.f[d->rd] = 0xffffffff00000000ull | v;
    mstatus_ |= mstatus::kFs;
    NEXT();
  }
op_FLD:
  if ((mstatus_ & mstatus::kFs) == 0) goto illegal;
  {
    const uint64_t va = XR(rs1) + IMM;
    const TlbEntry& e = dtlb->read[(va >> 12) % kTlbEntries];
    uint64_t v;
    if (e.vpage == (va & (~uint64_t{0xfff} | 7))) [[likely]] {
      v = guest_ram_load<uint64_t>(reinterpret_cast<const void*>(va + e.addend));
    } else if (!load_slow(va, 8, v)) {
      goto trap;
    }
    fp.f[d->rd] = v;
    mstatus_ |= mstatus::kFs;
    NEXT();
  }
op_FSW:
  if ((mstatus_ & mstatus::kFs) == 0) goto illegal;
  STORE_OP(uint32_t, fp.f[d->rs2])
op_FSD:
  if ((mstatus_ & mstatus::kFs) == 0) goto illegal;
  STORE_OP(uint64_t, fp.f[d->rs2])
op_FP:
  if ((mstatus_ & mstatus::kFs) == 0) goto illegal;
  if (!fp_execute(static_cast<FpOp>(d->aux), static_cast<unsigned>(d->imm), fp, xr, d->rd, d->rs1,
                  d->rs2, d->rs3)) {
    goto illegal;
  }
  mstatus_ |= mstatus::kFs;
  NEXT();

  // ---- Zba / Zbb / Zbs ----
op_SH1ADD:
  XR(rd) = (XR(rs1) << 1) + XR(rs2);
  NEXT();
op_SH2ADD:
  XR(rd) = (XR(rs1) << 2) + XR(rs2);
  NEXT();
op_SH3ADD:
  XR(rd) = (XR(rs1) << 3) + XR(rs2);
  NEXT();
op_ADD_UW:
  XR(rd) = static_cast<uint32_t>(XR(rs1)) + XR(rs2);
  NEXT();
op_SH1ADD_UW:
  XR(rd) = (static_cast<uint64_t>(static_cast<uint32_t>(XR(rs1))) << 1) + XR(rs2);
  NEXT();
op_SH2ADD_UW:
  XR(rd) = (static_cast<uint64_t>(static_cast<uint32_t>(XR(rs1))) << 2) + XR(rs2);
  NEXT();
op_SH3ADD_UW:
  XR(rd) = (static_cast<uint64_t>(static_cast<uint32_t>(XR(rs1))) << 3) + XR(rs2);
  NEXT();
op_SLLI_UW:
  XR(rd) = static_cast<uint64_t>(static_cast<uint32_t>(XR(rs1))) << d->imm;
  NEXT();
op_ANDN:
  XR(rd) = XR(rs1) & ~XR(rs2);
  NEXT();
op_ORN:
  XR(rd) = XR(rs1) | ~XR(rs2);
  NEXT();
op_XNOR:
  XR(rd) = ~(XR(rs1) ^ XR(rs2));
  NEXT();
op_CLZ:
  XR(rd) = static_cast<uint64_t>(std::countl_zero(XR(rs1)));
  NEXT();
op_CTZ:
  XR(rd) = static_cast<uint64_t>(std::countr_zero(XR(rs1)));
  NEXT();
op_CPOP:
  XR(rd) = static_cast<uint64_t>(std::popcount(XR(rs1)));
  NEXT();
op_CLZW:
  XR(rd) = static_cast<uint64_t>(std::countl_zero(static_cast<uint32_t>(XR(rs1))));
  NEXT();
op_CTZW:
  XR(rd) = static_cast<uint64_t>(std::countr_zero(static_cast<uint32_t>(XR(rs1))));
  NEXT();
op_CPOPW:
  XR(rd) = static_cast<uint64_t>(std::popcount(static_cast<uint32_t>(XR(rs1))));
  NEXT();
op_MAX:
  XR(rd) = static_cast<int64_t>(XR(rs1)) > static_cast<int64_t>(XR(rs2)) ? XR(rs1) : XR(rs2);
  NEXT();
op_MAXU:
  XR(rd) = XR(rs1) > XR(rs2) ? XR(rs1) : XR(rs2);
  NEXT();
op_MIN:
  XR(rd) = static_cast<int64_t>(XR(rs1)) < static_cast<int64_t>(XR(rs2)) ? XR(rs1) : XR(rs2);
  NEXT();
op_MINU:
  XR(rd) = XR(rs1) < XR(rs2) ? XR(rs1) : XR(rs2);
  NEXT();
op_SEXT_B:
  XR(rd) = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(XR(rs1))));
  NEXT();
op_SEXT_H:
  XR(rd) = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(XR(rs1))));
  NEXT();
op_ZEXT_H:
  XR(rd) = static_cast<uint16_t>(XR(rs1));
  NEXT();
op_ROL:
  XR(rd) = std::rotl(XR(rs1), static_cast<int>(XR(rs2) & 63));
  NEXT();
op_ROR:
  XR(rd) = std::rotr(XR(rs1), static_cast<int>(XR(rs2) & 63));
  NEXT();
op_RORI:
  XR(rd) = std::rotr(XR(rs1), d->imm);
  NEXT();
op_ROLW:
  XR(rd) = sext32(std::rotl(static_cast<uint32_t>(XR(rs1)), static_cast<int>(XR(rs2) & 31)));
  NEXT();
op_RORW:
  XR(rd) = sext32(std::rotr(static_cast<uint32_t>(XR(rs1)), static_cast<int>(XR(rs2) & 31)));
  NEXT();
op_RORIW:
  XR(rd) = sext32(std::rotr(static_cast<uint32_t>(XR(rs1)), d->imm));
  NEXT();
op_ORC_B:
  XR(rd) = orc_b(XR(rs1));
  NEXT();
op_REV8:
  XR(rd) = __builtin_bswap64(XR(rs1));
  NEXT();
op_BCLR:
  XR(rd) = XR(rs1) & ~(uint64_t{1} << (XR(rs2) & 63));
  NEXT();
op_BCLRI:
  XR(rd) = XR(rs1) & ~(uint64_t{1} << d->imm);
  NEXT();
op_BEXT:
  XR(rd) = (XR(rs1) >> (XR(rs2) & 63)) & 1;
  NEXT();
op_BEXTI:
  XR(rd) = (XR(rs1) >> d->imm) & 1;
  NEXT();
op_BINV:
  XR(rd) = XR(rs1) ^ (uint64_t{1} << (XR(rs2) & 63));
  NEXT();
op_BINVI:
  XR(rd) = XR(rs1) ^ (uint64_t{1} << d->imm);
  NEXT();
op_BSET:
  XR(rd) = XR(rs1) | (uint64_t{1} << (XR(rs2) & 63));
  NEXT();
op_BSETI:
  XR(rd) = XR(rs1) | (uint64_t{1} << d->imm);
  NEXT();

#undef PC_OF
#undef SYNC_INSTRET
#undef DISPATCH
#undef NEXT
#undef JUMP_TO_PC
#undef NEXT_VIA_REFETCH
#undef XR
#undef AFTER_ATOMIC_STORE
#undef IMM
#undef LOAD_OP
#undef STORE_OP
#undef CSR_OP
#undef SIGNED
#undef UNSIGNED
}

}  // namespace vessel::rv
