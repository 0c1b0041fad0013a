// Hart save/restore in the state format (base/state.hpp).
//
// Layout, version 2, all little-endian:
//   u32 hart id
//   u64 pc, u64 x[0..31], u64 f[0..31], u8 fflags, u8 frm
//   u8 priv, u64 instret, bool wfi, u64 reservation (a guest-physical
//   address; ~0: none), u64 the value the LR read
//   u64 each: mstatus medeleg mideleg mie mip mtvec mscratch mepc mcause
//             mtval mcounteren menvcfg mcountinhibit stvec sscratch sepc
//             scause stval scounteren senvcfg satp cycle_offset instret_offset
//   u64 pmpcfg[8], u64 pmpaddr[64]
//
// A snapshot file is hostile input. Rather than restate each CSR's WARL rule
// here, restore writes every constrained CSR through csr_write() (the one
// place those rules live) and rejects the blob unless the register then holds
// exactly the saved value: a value this hart could not have produced is a
// corrupt or foreign snapshot, not something to silently legalize.
#include "base/state.hpp"
#include "engine/riscv/csr_numbers.hpp"
#include "engine/riscv/hart.hpp"

namespace vessel::rv {

void Hart::save_state(state::Writer& w) const {
  w.u32(id_);
  w.u64(pc);
  w.u64s(std::span<const uint64_t>(x, 32));  // x[32] is a write sink, not state
  w.u64s(fp.f);
  w.u8(static_cast<uint8_t>(fp.fflags));
  w.u8(static_cast<uint8_t>(fp.frm));
  w.u8(static_cast<uint8_t>(priv_));
  w.u64(instret_);
  w.boolean(wfi_);
  uint8_t* const ram = memory_.host_base();
  const auto* resv = reinterpret_cast<const uint8_t*>(resv_host_);
  w.u64(resv_host_ == 0 ? ~uint64_t{0} : memory_.base() + static_cast<uint64_t>(resv - ram));
  w.u64(resv_value_);
  // An SBI IPI still on its pin is saved as the SSIP it stands for.
  const uint64_t mip = mip_ | (pins_.load() & irq::kSsip);
  for (uint64_t v : {mstatus_,    medeleg_,      mideleg_,       mie_,        mip,
                     mtvec_,      mscratch_,     mepc_,          mcause_,     mtval_,
                     mcounteren_, menvcfg_,      mcountinhibit_, stvec_,      sscratch_,
                     sepc_,       scause_,       stval_,         scounteren_, senvcfg_,
                     satp_,       cycle_offset_, instret_offset_}) {
    w.u64(v);
  }
  w.u64s(pmpcfg_);
  w.u64s(pmpaddr_);
}

void Hart::load_state(state::Reader& r) {
  const uint32_t id = r.u32();
  if (id != id_)
    state::state_fail("state section '{}' belongs to hart {}, not {}", r.what(), id, id_);
  const uint64_t new_pc = r.u64();
  // IALIGN is 16 with the C extension: no jump or trap can make pc odd.
  if ((new_pc & 1) != 0) state::state_fail("state section '{}': bad pc ({:#x})", r.what(), new_pc);
  uint64_t regs[32];
  r.u64s(regs);
  if (regs[0] != 0) state::state_fail("state section '{}': x0 is not zero", r.what());
  FpState f;
  r.u64s(f.f);
  f.fflags = r.u8();
  f.frm = r.u8();
  // The fcsr write rule (csr.cpp): five flag bits, a three-bit rounding mode.
  if (f.fflags > 0x1f)
    state::state_fail("state section '{}': bad fflags ({:#x})", r.what(), f.fflags);
  if (f.frm > 7) state::state_fail("state section '{}': bad frm ({})", r.what(), f.frm);
  const uint8_t p = r.u8();
  if (p != static_cast<uint8_t>(Priv::kUser) && p != static_cast<uint8_t>(Priv::kSupervisor) &&
      p != static_cast<uint8_t>(Priv::kMachine)) {
    state::state_fail("state section '{}': bad privilege level {}", r.what(), p);
  }

  pc = new_pc;
  for (unsigned i = 0; i < 32; ++i) x[i] = regs[i];
  x[32] = 0;
  fp = f;
  priv_ = static_cast<Priv>(p);
  instret_ = r.u64();
  wfi_ = r.boolean();
  // An LR reserves RAM only.
  const uint64_t resv = r.u64();
  resv_value_ = r.u64();
  const uint8_t* host = memory_.host_ptr(resv, 1);
  if (resv != ~uint64_t{0} && host == nullptr)
    state::state_fail("state section '{}': reservation outside RAM ({:#x})", r.what(), resv);
  resv_host_ = host == nullptr ? 0 : reinterpret_cast<uint64_t>(host);

  // Writes `value` with csr_write() onto a register that starts at `reset`
  // (so that rules keeping a previous field, like mstatus.MPP, cannot fill
  // in for a bad saved one) and requires that it sticks unchanged.
  auto restore = [&](uint16_t number, uint64_t& field, const char* name) {
    const uint64_t value = r.u64();
    field = 0;
    csr_write(number, value);
    if (field != value)
      state::state_fail("state section '{}': bad {} ({:#x})", r.what(), name, value);
  };
  restore(csr::kMstatus, mstatus_, "mstatus");
  restore(csr::kMedeleg, medeleg_, "medeleg");
  restore(csr::kMideleg, mideleg_, "mideleg");
  restore(csr::kMie, mie_, "mie");
  restore(csr::kMip, mip_, "mip");
  restore(csr::kMtvec, mtvec_, "mtvec");
  mscratch_ = r.u64();
  restore(csr::kMepc, mepc_, "mepc");
  mcause_ = r.u64();
  mtval_ = r.u64();
  restore(csr::kMcounteren, mcounteren_, "mcounteren");
  restore(csr::kMenvcfg, menvcfg_, "menvcfg");
  restore(csr::kMcountinhibit, mcountinhibit_, "mcountinhibit");
  restore(csr::kStvec, stvec_, "stvec");
  sscratch_ = r.u64();
  restore(csr::kSepc, sepc_, "sepc");
  scause_ = r.u64();
  stval_ = r.u64();
  restore(csr::kScounteren, scounteren_, "scounteren");
  restore(csr::kSenvcfg, senvcfg_, "senvcfg");
  // Rejects unsupported modes (only bare, Sv39 and Sv48 stick) and ASID bits.
  restore(csr::kSatp, satp_, "satp");
  cycle_offset_ = r.u64();
  instret_offset_ = r.u64();
  r.u64s(pmpcfg_);
  for (unsigned i = 0; i < 64; ++i) {
    restore(static_cast<uint16_t>(csr::kPmpaddr0 + i), pmpaddr_[i], "pmpaddr");
  }
  r.expect_end();

  trap_cause_ = 0;
  trap_tval_ = 0;
  stop_requested_ = false;
  flush_tlbs();
  select_tlbs();
}

}  // namespace vessel::rv
