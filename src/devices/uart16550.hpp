// An NS16550A UART as on QEMU's virt board (reg-shift 0, one byte per
// register), enough for Linux's 8250 driver and OpenSBI's uart8250.
//
// Register map: PC16550D datasheet, table II; names as Linux
// include/uapi/linux/serial_reg.h.
//   0 RBR (read) / THR (write)     DLAB=1: DLL
//   1 IER                          DLAB=1: DLM
//   2 IIR (read) / FCR (write)
//   3 LCR   4 MCR   5 LSR   6 MSR   7 SCR
//
// Transmission is instantaneous: THR writes go straight to the output
// callback, so LSR.THRE and LSR.TEMT are always set. Host input is queued
// (up to kRxQueueSize bytes, beyond the 16-byte FIFO of the chip, so pasting
// text does not lose characters); receive() refuses bytes when it is full,
// which is the host's signal to stop reading its input for a while.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>

#include "base/log.hpp"
#include "base/state.hpp"
#include "devices/bus.hpp"
#include "devices/irq.hpp"

namespace vessel {

class Uart16550 final : public MmioDevice {
 public:
  using Output = std::function<void(uint8_t)>;

  static constexpr size_t kRxQueueSize = 4096;
  static constexpr size_t kFifoSize = 16;  // what the guest sees for trigger levels

  Uart16550(IrqLine irq, Output output);

  // Register accesses are one byte. A wider access is split into byte
  // accesses at consecutive offsets, lowest first, as QEMU's serial_mm does.
  bool mmio_read(uint64_t offset, unsigned size, uint64_t& value) override;
  bool mmio_write(uint64_t offset, unsigned size, uint64_t value) override;

  // Host input (console, test harness). False if the queue is full.
  bool receive(uint8_t byte);
  size_t rx_space() const { return kRxQueueSize - rx_.size(); }

  // The interrupt output as the guest would currently see it.
  bool irq_level() const { return irq_level_; }

  // Snapshot state: every register, the overrun and THR-empty interrupt
  // state and the received bytes not yet read (at most kRxQueueSize).
  // load_state checks each register against what a write could leave in it
  // and then drives the interrupt line to the level the loaded state implies,
  // even if that equals the line's last level (the controller behind it may
  // be fresh too).
  static constexpr uint32_t kStateVersion = 1;
  void save_state(state::Writer& w) const;
  void load_state(state::Reader& r);

 private:
  uint8_t read_reg(unsigned reg);
  void write_reg(unsigned reg, uint8_t value);
  void transmit(uint8_t byte);
  uint8_t current_iir() const;
  uint8_t msr() const;
  void update_irq();

  IrqLine irq_;
  Output output_;
  std::deque<uint8_t> rx_;  // receive FIFO + host-side queue, guest reads the front

  uint8_t ier_ = 0;
  uint8_t fcr_ = 0;     // only FIFO enable and trigger level are kept
  uint8_t lcr_ = 0x03;  // 8N1, as firmware usually leaves it
  uint8_t mcr_ = 0;
  uint8_t scr_ = 0;
  uint8_t dll_ = 0x0c;  // 9600 baud at 1.8432 MHz, the 8250 reset default
  uint8_t dlm_ = 0;
  bool overrun_ = false;      // LSR.OE, only possible in loopback mode
  bool thr_pending_ = false;  // "THR empty" interrupt armed, cleared by IIR read / THR write
  bool irq_level_ = false;
  RateLimit log_limit_;
};

}  // namespace vessel
