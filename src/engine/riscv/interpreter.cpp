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

#include "engine/riscv/alu.hpp"
#include "engine/riscv/csr_numbers.hpp"
#include "engine/riscv/decoder.hpp"
#include "engine/riscv/hart.hpp"
#include "memory/guest_ram.hpp"

namespace vessel::rv {

namespace {

using alu::orc_b;
using alu::sext32;

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

  // ---- The handlers, by extension ----
  // In this order: rv64i.inc defines the load and store macros fd.inc uses.
  // clang-format off
#include "engine/riscv/interp/rv64i.inc"
#include "engine/riscv/interp/m.inc"
#include "engine/riscv/interp/a.inc"
#include "engine/riscv/interp/system.inc"
#include "engine/riscv/interp/fd.inc"
#include "engine/riscv/interp/zb.inc"
  // clang-format on

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
