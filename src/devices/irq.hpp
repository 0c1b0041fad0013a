// Interrupt wiring. A device raises or lowers a numbered line; the interrupt
// controller (the PLIC on the virt board) decides what each hart sees.
#pragma once

#include <atomic>
#include <cstdint>

#include "base/doorbell.hpp"

namespace vessel {

class IrqSink {
 public:
  virtual ~IrqSink() = default;
  virtual void set_irq(uint32_t source, bool level) = 0;
};

// One interrupt line from a device to a controller input.
class IrqLine {
 public:
  IrqLine() = default;
  IrqLine(IrqSink* sink, uint32_t source) : sink_(sink), source_(source) {}
  void set(bool level) {
    if (sink_ != nullptr) sink_->set_irq(source_, level);
  }
  void raise() { set(true); }
  void lower() { set(false); }
  uint32_t source() const { return source_; }

 private:
  IrqSink* sink_ = nullptr;
  uint32_t source_ = 0;
};

// The interrupt inputs of one hart, in the bit layout of the mip CSR:
// MSIP (3) and MTIP (7) from the CLINT, SEIP (9) and MEIP (11) from the PLIC,
// STIP (5) from vessel's own SBI timer and SSIP (1) from its IPIs, when no
// M-mode firmware runs. The hart ORs `level` into the mip it reads and checks
// it at block boundaries. Devices and other harts set pins from their own
// threads, so `level` is atomic, and raising a pin rings the doorbell the
// hart's thread sleeps on in WFI.
struct HartIrqPins {
  static constexpr unsigned kSsip = 1;  // an SBI IPI (the hart clears it through sip)
  static constexpr unsigned kStip = 5;  // driven by vessel's own SBI timer
  static constexpr unsigned kMsip = 3;
  static constexpr unsigned kMtip = 7;
  static constexpr unsigned kSeip = 9;
  static constexpr unsigned kMeip = 11;

  std::atomic<uint64_t> level{0};
  Doorbell doorbell;

  uint64_t load() const { return level.load(std::memory_order_relaxed); }

  void set(unsigned bit, bool on) {
    const uint64_t mask = uint64_t{1} << bit;
    if (((load() & mask) != 0) == on) return;  // the common case: no change, no locked op
    if (on) {
      if ((level.fetch_or(mask, std::memory_order_seq_cst) & mask) == 0) doorbell.ring();
    } else {
      level.fetch_and(~mask, std::memory_order_seq_cst);
    }
  }
};

}  // namespace vessel
