// Interrupt wiring. A device raises or lowers a numbered line; the interrupt
// controller (the PLIC on the virt board) decides what each hart sees.
#pragma once

#include <cstdint>

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
// STIP (5) from vessel's SBI timer when no M-mode firmware runs.
// The hart ORs `level` into the mip it reads and checks it at block
// boundaries; writers run on the hart's thread.
struct HartIrqPins {
  static constexpr unsigned kStip = 5;  // driven by vessel's own SBI timer
  static constexpr unsigned kMsip = 3;
  static constexpr unsigned kMtip = 7;
  static constexpr unsigned kSeip = 9;
  static constexpr unsigned kMeip = 11;

  uint64_t level = 0;

  void set(unsigned bit, bool on) {
    if (on) {
      level |= uint64_t{1} << bit;
    } else {
      level &= ~(uint64_t{1} << bit);
    }
  }
};

}  // namespace vessel
