// The CSR file: access rules (privileged spec, "CSR Field Specifications" and
// the per-register WARL rules) and the side effects of writes.
#include "engine/riscv/csr_numbers.hpp"
#include "engine/riscv/hart.hpp"

namespace vessel::rv {

namespace {
constexpr uint64_t kMisa = (2ull << 62) | (1u << ('A' - 'A')) | (1u << ('C' - 'A')) |
                           (1u << ('D' - 'A')) | (1u << ('F' - 'A')) | (1u << ('I' - 'A')) |
                           (1u << ('M' - 'A')) | (1u << ('S' - 'A')) | (1u << ('U' - 'A'));
constexpr uint64_t kSatpModeShift = 60;
constexpr uint64_t kSatpPpnMask = (1ull << 44) - 1;
constexpr uint64_t kSatpBare = 0, kSatpSv39 = 8, kSatpSv48 = 9;
constexpr uint64_t kMenvcfgWritable = 1;  // FIOM only
}  // namespace

uint64_t Hart::read_mstatus() const {
  uint64_t s = mstatus_ | mstatus::kUxl | mstatus::kSxl;
  if ((s & mstatus::kFs) == mstatus::kFs) s |= mstatus::kSd;
  return s;
}

void Hart::write_mstatus(uint64_t value) {
  uint64_t mpp = (value & mstatus::kMpp) >> mstatus::kMppShift;
  if (mpp == 2) mpp = (mstatus_ & mstatus::kMpp) >> mstatus::kMppShift;  // WARL: keep legal
  value = (value & ~mstatus::kMpp) | (mpp << mstatus::kMppShift);
  const uint64_t old = mstatus_;
  mstatus_ = value & mstatus::kWritable;
  if (((old ^ mstatus_) & mstatus::kMxr) != 0) flush_tlbs();
  select_tlbs();
}

// Privilege and read-only checks (CSR address bits [11:10] = 3 is read-only,
// bits [9:8] the lowest privilege allowed), plus the counter enables, TVM
// and FS.
bool Hart::csr_accessible(uint16_t number, bool write) const {
  if (write && (number >> 10) == 3) return false;
  if (static_cast<unsigned>(priv_) < ((number >> 8) & 3u)) return false;
  if (number >= csr::kCycle && number <= csr::kHpmCounter31) {
    const unsigned bit = number - csr::kCycle;
    if (priv_ < Priv::kMachine && ((mcounteren_ >> bit) & 1) == 0) return false;
    if (priv_ == Priv::kUser && ((scounteren_ >> bit) & 1) == 0) return false;
  }
  if (number == csr::kSatp && priv_ == Priv::kSupervisor && (mstatus_ & mstatus::kTvm) != 0) {
    return false;
  }
  if (number <= csr::kFcsr && (mstatus_ & mstatus::kFs) == 0) return false;
  return true;
}

bool Hart::csr_read(uint16_t number, uint64_t& value) {
  switch (number) {
    case csr::kFflags: value = fp.fflags; return true;
    case csr::kFrm: value = fp.frm; return true;
    case csr::kFcsr: value = (fp.frm << 5) | fp.fflags; return true;
    case csr::kCycle:
    case csr::kMcycle: value = instret_ + cycle_offset_; return true;
    case csr::kInstret:
    case csr::kMinstret: value = instret_ + instret_offset_; return true;
    case csr::kTime: value = clock_.now(); return true;
    case csr::kSstatus: value = read_mstatus() & mstatus::kSstatusMask; return true;
    case csr::kSie: value = mie_ & mideleg_; return true;
    case csr::kStvec: value = stvec_; return true;
    case csr::kScounteren: value = scounteren_; return true;
    case csr::kSenvcfg: value = senvcfg_; return true;
    case csr::kSscratch: value = sscratch_; return true;
    case csr::kSepc: value = sepc_; return true;
    case csr::kScause: value = scause_; return true;
    case csr::kStval: value = stval_; return true;
    case csr::kSip: value = pending_interrupts() & mideleg_; return true;
    case csr::kSatp: value = satp_; return true;
    case csr::kMvendorid:
    case csr::kMarchid:
    case csr::kMimpid:
    case csr::kMconfigptr: value = 0; return true;
    case csr::kMhartid: value = id_; return true;
    case csr::kMstatus: value = read_mstatus(); return true;
    case csr::kMisa: value = kMisa; return true;
    case csr::kMedeleg: value = medeleg_; return true;
    case csr::kMideleg: value = mideleg_; return true;
    case csr::kMie: value = mie_; return true;
    case csr::kMtvec: value = mtvec_; return true;
    case csr::kMcounteren: value = mcounteren_; return true;
    case csr::kMenvcfg: value = menvcfg_; return true;
    case csr::kMcountinhibit: value = mcountinhibit_; return true;
    case csr::kMscratch: value = mscratch_; return true;
    case csr::kMepc: value = mepc_; return true;
    case csr::kMcause: value = mcause_; return true;
    case csr::kMtval: value = mtval_; return true;
    case csr::kMip: value = pending_interrupts(); return true;
    case csr::kMseccfg: value = 0; return true;
    default: break;
  }
  if ((number >= csr::kHpmCounter3 && number <= csr::kHpmCounter31) ||
      (number >= csr::kMhpmcounter3 && number <= csr::kMhpmcounter31) ||
      (number >= csr::kMhpmevent3 && number <= csr::kMhpmevent31)) {
    value = 0;  // no programmable performance counters: hardwired to zero
    return true;
  }
  if (number >= csr::kPmpcfg0 && number <= csr::kPmpcfg15) {
    if ((number & 1) != 0) return false;  // odd pmpcfg registers do not exist on RV64
    value = pmpcfg_[(number - csr::kPmpcfg0) / 2];
    return true;
  }
  if (number >= csr::kPmpaddr0 && number <= csr::kPmpaddr63) {
    value = pmpaddr_[number - csr::kPmpaddr0];
    return true;
  }
  return false;
}

bool Hart::csr_write(uint16_t number, uint64_t value) {
  auto fp_dirty = [&] { mstatus_ |= mstatus::kFs; };
  switch (number) {
    case csr::kFflags:
      fp.fflags = value & 0x1f;
      fp_dirty();
      return true;
    case csr::kFrm:
      fp.frm = value & 7;
      fp_dirty();
      return true;
    case csr::kFcsr:
      fp.fflags = value & 0x1f;
      fp.frm = (value >> 5) & 7;
      fp_dirty();
      return true;
    // instret_ counts the instructions retired before this one; the write
    // happens instead of this instruction's own increment (Zicntr).
    case csr::kMcycle: cycle_offset_ = value - instret_ - 1; return true;
    case csr::kMinstret: instret_offset_ = value - instret_ - 1; return true;
    case csr::kSstatus:
      write_mstatus((mstatus_ & ~mstatus::kSstatusMask) | (value & mstatus::kSstatusMask));
      return true;
    case csr::kSie: mie_ = (mie_ & ~mideleg_) | (value & mideleg_); return true;
    case csr::kStvec: stvec_ = (value & 3) >= 2 ? (value & ~uint64_t{3}) : value; return true;
    case csr::kScounteren: scounteren_ = value & 0xffffffff; return true;
    case csr::kSenvcfg: senvcfg_ = value & kMenvcfgWritable; return true;
    case csr::kSscratch: sscratch_ = value; return true;
    case csr::kSepc: sepc_ = value & ~uint64_t{1}; return true;
    case csr::kScause: scause_ = value; return true;
    case csr::kStval: stval_ = value; return true;
    case csr::kSip:
      // Only SSIP is writable through sip, and only when delegated.
      mip_ = (mip_ & ~(irq::kSsip & mideleg_)) | (value & irq::kSsip & mideleg_);
      // An SBI IPI arrives on a pin; clearing SSIP takes it too.
      if ((mideleg_ & irq::kSsip) != 0 && (value & irq::kSsip) == 0) {
        pins_.set(HartIrqPins::kSsip, false);
      }
      return true;
    case csr::kSatp: {
      const uint64_t mode = value >> kSatpModeShift;
      if (mode != kSatpBare && mode != kSatpSv39 && mode != kSatpSv48) return true;  // no effect
      // No ASIDs are implemented (ASIDLEN = 0): the field reads as zero.
      satp_ = (mode << kSatpModeShift) | (value & kSatpPpnMask);
      flush_tlbs();
      return true;
    }
    case csr::kMstatus: write_mstatus(value); return true;
    case csr::kMisa: return true;  // WARL, fixed
    case csr::kMedeleg: medeleg_ = value & cause::kDelegable; return true;
    case csr::kMideleg: mideleg_ = value & irq::kDelegable; return true;
    case csr::kMie: mie_ = value & irq::kAll; return true;
    case csr::kMtvec: mtvec_ = (value & 3) >= 2 ? (value & ~uint64_t{3}) : value; return true;
    case csr::kMcounteren: mcounteren_ = value & 0xffffffff; return true;
    case csr::kMenvcfg: menvcfg_ = value & kMenvcfgWritable; return true;
    case csr::kMcountinhibit: mcountinhibit_ = value & 0xfffffffd; return true;
    case csr::kMscratch: mscratch_ = value; return true;
    case csr::kMepc: mepc_ = value & ~uint64_t{1}; return true;
    case csr::kMcause: mcause_ = value; return true;
    case csr::kMtval: mtval_ = value; return true;
    case csr::kMip: {
      // SSIP, STIP and SEIP are writable by M-mode; the rest come from pins.
      constexpr uint64_t kWritable = irq::kSsip | irq::kStip | irq::kSeip;
      mip_ = (mip_ & ~kWritable) | (value & kWritable);
      if ((value & irq::kSsip) == 0) pins_.set(HartIrqPins::kSsip, false);
      return true;
    }
    case csr::kMseccfg: return true;
    default: break;
  }
  if ((number >= csr::kMhpmcounter3 && number <= csr::kMhpmcounter31) ||
      (number >= csr::kMhpmevent3 && number <= csr::kMhpmevent31)) {
    return true;  // hardwired to zero
  }
  if (number >= csr::kPmpcfg0 && number <= csr::kPmpcfg15) {
    if ((number & 1) != 0) return false;
    // PMP registers hold their values for firmware that programs them, but
    // vessel does not enforce PMP: no guest relies on it to protect itself
    // from its own supervisor here. The A=NA4 mode is not supported (WARL).
    pmpcfg_[(number - csr::kPmpcfg0) / 2] = value;
    return true;
  }
  if (number >= csr::kPmpaddr0 && number <= csr::kPmpaddr63) {
    pmpaddr_[number - csr::kPmpaddr0] = value & ((1ull << 54) - 1);
    return true;
  }
  return false;
}

uint64_t Hart::read_csr_raw(uint16_t number) {
  uint64_t value = 0;
  csr_read(number, value);
  return value;
}

}  // namespace vessel::rv
