// The CLINT ("sifive,clint0"; QEMU hw/intc/riscv_aclint.c with the SiFive
// layout): per-hart software interrupts and the machine timer.
//   0x0000 + 4*hart   msip      (32-bit, bit 0 -> mip.MSIP)
//   0x4000 + 8*hart   mtimecmp  (64-bit, or two 32-bit halves)
//   0xbff8            mtime     (64-bit, or two 32-bit halves)
// MTIP is level: set while mtime >= mtimecmp[hart] (privileged spec 3.2.1).
#pragma once

#include <cstdint>
#include <vector>

#include "base/log.hpp"
#include "base/state.hpp"
#include "devices/bus.hpp"
#include "devices/irq.hpp"
#include "platform/guest_clock.hpp"

namespace vessel {

class Clint final : public MmioDevice {
 public:
  static constexpr uint64_t kMsipBase = 0x0000;
  static constexpr uint64_t kMtimecmpBase = 0x4000;
  static constexpr uint64_t kMtime = 0xbff8;

  // One HartIrqPins per hart, indexed by hart id; all must outlive the CLINT.
  Clint(GuestClock& clock, const std::vector<HartIrqPins*>& harts);

  // msip takes 4-byte accesses, mtimecmp and mtime 4 or 8 (naturally
  // aligned); anything else faults, as QEMU's aclint does. Registers of harts
  // that do not exist and unused offsets read 0 and ignore writes.
  //
  // A write to mtime moves guest time for everyone (GuestClock::set_now), as
  // on hardware where the `time` CSR shadows mtime. Every write re-evaluates
  // the pins, so callers need not call update() after one.
  bool mmio_read(uint64_t offset, unsigned size, uint64_t& value) override;
  bool mmio_write(uint64_t offset, unsigned size, uint64_t value) override;

  // Recomputes MTIP of every hart against the clock's now(). The machine
  // calls it between time slices.
  void update();

  // The earliest mtimecmp that now() has not reached yet, UINT64_MAX if none:
  // when the next MTIP will rise without anyone touching the CLINT.
  uint64_t next_deadline() const;

  unsigned num_harts() const { return static_cast<unsigned>(harts_.size()); }
  uint64_t mtimecmp(unsigned hart) const;
  void set_mtimecmp(unsigned hart, uint64_t value);  // also updates the pins
  bool msip(unsigned hart) const;

  // Snapshot state: per hart mtimecmp and msip. Not mtime: guest time is the
  // machine's to save (GuestClock). load_state requires the saved number of
  // harts to be this CLINT's and drives MSIP and MTIP from the loaded values
  // and the clock's now(); restore the clock first, or call update() after.
  static constexpr uint32_t kStateVersion = 1;
  void save_state(state::Writer& w) const;
  void load_state(state::Reader& r);

 private:
  struct HartState {
    HartIrqPins* pins;
    uint64_t mtimecmp = UINT64_MAX;  // reset value: no timer interrupt
    bool msip = false;
  };

  bool read_mtimecmp(uint64_t offset, unsigned size, uint64_t& value) const;
  bool write_mtimecmp(uint64_t offset, unsigned size, uint64_t value);
  bool write_mtime(uint64_t offset, unsigned size, uint64_t value);

  GuestClock& clock_;
  std::vector<HartState> harts_;
  RateLimit log_limit_;
};

}  // namespace vessel
