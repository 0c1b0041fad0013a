#include "devices/uart16550.hpp"

#include <utility>
#include <vector>

namespace vessel {
namespace {

// Register offsets (reg-shift 0).
constexpr unsigned kRbrThr = 0;  // DLAB: DLL
constexpr unsigned kIer = 1;     // DLAB: DLM
constexpr unsigned kIirFcr = 2;
constexpr unsigned kLcr = 3;
constexpr unsigned kMcr = 4;
constexpr unsigned kLsr = 5;
constexpr unsigned kMsr = 6;
constexpr unsigned kScr = 7;
constexpr unsigned kNumRegs = 8;

constexpr uint8_t kIerRdi = 0x01;   // received data available
constexpr uint8_t kIerThri = 0x02;  // THR empty
constexpr uint8_t kIerRlsi = 0x04;  // receiver line status
constexpr uint8_t kIerMask = 0x0f;  // bits 4-7 are zero on a 16550

constexpr uint8_t kIirNoInt = 0x01;
constexpr uint8_t kIirThri = 0x02;
constexpr uint8_t kIirRdi = 0x04;
constexpr uint8_t kIirRlsi = 0x06;
constexpr uint8_t kIirTimeout = 0x0c;  // character timeout: data below the trigger level
constexpr uint8_t kIirFifoEnabled = 0xc0;

constexpr uint8_t kFcrEnable = 0x01;
constexpr uint8_t kFcrClearRx = 0x02;
constexpr uint8_t kFcrTriggerMask = 0xc0;

constexpr uint8_t kLcrDlab = 0x80;

constexpr uint8_t kMcrDtr = 0x01;
constexpr uint8_t kMcrRts = 0x02;
constexpr uint8_t kMcrOut1 = 0x04;
constexpr uint8_t kMcrOut2 = 0x08;
constexpr uint8_t kMcrLoop = 0x10;
constexpr uint8_t kMcrMask = 0x1f;

constexpr uint8_t kLsrDr = 0x01;
constexpr uint8_t kLsrOe = 0x02;
constexpr uint8_t kLsrThre = 0x20;
constexpr uint8_t kLsrTemt = 0x40;

constexpr uint8_t kMsrCts = 0x10;
constexpr uint8_t kMsrDsr = 0x20;
constexpr uint8_t kMsrRi = 0x40;
constexpr uint8_t kMsrDcd = 0x80;

bool valid_size(unsigned size) {
  return size == 1 || size == 2 || size == 4 || size == 8;
}

}  // namespace

Uart16550::Uart16550(IrqLine irq, Output output) : irq_(irq), output_(std::move(output)) {}

bool Uart16550::mmio_read(uint64_t offset, unsigned size, uint64_t& value) {
  if (!valid_size(size)) return false;
  value = 0;
  for (unsigned i = 0; i < size; ++i) {
    if (offset >= kNumRegs || offset + i >= kNumRegs) break;  // the rest of the window reads 0
    value |= uint64_t{read_reg(static_cast<unsigned>(offset + i))} << (8 * i);
  }
  update_irq();
  return true;
}

bool Uart16550::mmio_write(uint64_t offset, unsigned size, uint64_t value) {
  if (!valid_size(size)) return false;
  for (unsigned i = 0; i < size; ++i) {
    if (offset >= kNumRegs || offset + i >= kNumRegs) break;
    write_reg(static_cast<unsigned>(offset + i), static_cast<uint8_t>(value >> (8 * i)));
  }
  update_irq();
  return true;
}

bool Uart16550::receive(uint8_t byte) {
  if (rx_.size() >= kRxQueueSize) return false;
  rx_.push_back(byte);
  update_irq();
  return true;
}

uint8_t Uart16550::read_reg(unsigned reg) {
  switch (reg) {
    case kRbrThr: {
      if (lcr_ & kLcrDlab) return dll_;
      if (rx_.empty()) return 0;
      const uint8_t byte = rx_.front();
      rx_.pop_front();
      return byte;
    }
    case kIer: return (lcr_ & kLcrDlab) ? dlm_ : ier_;
    case kIirFcr: {
      const uint8_t iir = current_iir();
      // Reading IIR while it reports "THR empty" acknowledges that interrupt.
      if (iir == kIirThri) thr_pending_ = false;
      return iir | ((fcr_ & kFcrEnable) ? kIirFifoEnabled : 0);
    }
    case kLcr: return lcr_;
    case kMcr: return mcr_;
    case kLsr: {
      uint8_t lsr = kLsrThre | kLsrTemt;
      if (!rx_.empty()) lsr |= kLsrDr;
      if (overrun_) lsr |= kLsrOe;
      overrun_ = false;  // error bits clear on read
      return lsr;
    }
    case kMsr: return msr();
    case kScr: return scr_;
    default: return 0;
  }
}

void Uart16550::write_reg(unsigned reg, uint8_t value) {
  switch (reg) {
    case kRbrThr:
      if (lcr_ & kLcrDlab) {
        dll_ = value;
      } else {
        transmit(value);
      }
      break;
    case kIer: {
      if (lcr_ & kLcrDlab) {
        dlm_ = value;
        break;
      }
      const uint8_t changed = (ier_ ^ value) & kIerMask;
      ier_ = value & kIerMask;
      // Enabling THRI while THR is empty raises the interrupt again even if
      // an IIR read acknowledged it before; Linux's 8250 probe (the
      // UART_BUG_THRE test in serial8250_do_startup) relies on it.
      if (changed & kIerThri) thr_pending_ = (ier_ & kIerThri) != 0;
      break;
    }
    case kIirFcr:
      // Switching FIFO mode or setting "clear RX" empties the receive FIFO.
      // Only what the chip's FIFO would hold is dropped: the host-side queue
      // behind it is input the guest has not been offered yet (QEMU likewise
      // leaves it in the chardev).
      if (((value ^ fcr_) & kFcrEnable) || (value & kFcrClearRx)) {
        for (size_t i = 0; i < kFifoSize && !rx_.empty(); ++i) rx_.pop_front();
      }
      fcr_ = (value & kFcrEnable) ? (value & (kFcrEnable | kFcrTriggerMask)) : 0;
      break;
    case kLcr: lcr_ = value; break;
    case kMcr: mcr_ = value & kMcrMask; break;
    case kScr: scr_ = value; break;
    default:
      // LSR and MSR are read-only (writes are a factory test mode).
      if (log_limit_.allow()) {
        spdlog::debug("uart: write {:#04x} to read-only register {}", value, reg);
      }
      break;
  }
}

void Uart16550::transmit(uint8_t byte) {
  if (mcr_ & kMcrLoop) {
    if (rx_.size() >= kRxQueueSize) {
      overrun_ = true;
    } else {
      rx_.push_back(byte);
    }
  } else if (output_) {
    output_(byte);
  }
  // The byte left at once: THR is empty again and may interrupt.
  thr_pending_ = (ier_ & kIerThri) != 0;
}

uint8_t Uart16550::current_iir() const {
  // Sources in the datasheet's priority order.
  if ((ier_ & kIerRlsi) && overrun_) return kIirRlsi;
  if ((ier_ & kIerRdi) && !rx_.empty()) {
    if (fcr_ & kFcrEnable) {
      static constexpr size_t kTrigger[4] = {1, 4, 8, 14};
      // Below the trigger level real hardware reports a character timeout
      // after four character times; with no line timing here, at once.
      if (rx_.size() < kTrigger[fcr_ >> 6]) return kIirTimeout;
    }
    return kIirRdi;
  }
  if ((ier_ & kIerThri) && thr_pending_) return kIirThri;
  // Modem status never changes, so MSI (IIR 0x00) never fires.
  return kIirNoInt;
}

uint8_t Uart16550::msr() const {
  if (mcr_ & kMcrLoop) {
    // Loopback wires the modem outputs back to the inputs.
    uint8_t msr = 0;
    if (mcr_ & kMcrRts) msr |= kMsrCts;
    if (mcr_ & kMcrDtr) msr |= kMsrDsr;
    if (mcr_ & kMcrOut1) msr |= kMsrRi;
    if (mcr_ & kMcrOut2) msr |= kMsrDcd;
    return msr;
  }
  return kMsrDcd | kMsrDsr | kMsrCts;  // a peer is always connected
}

void Uart16550::update_irq() {
  const bool level = current_iir() != kIirNoInt;
  if (level == irq_level_) return;
  irq_level_ = level;
  irq_.set(level);
}

// Layout, version 1: u8 ier fcr lcr mcr scr dll dlm, bool overrun,
// bool thr_pending, then the receive queue as length-prefixed bytes.
void Uart16550::save_state(state::Writer& w) const {
  for (uint8_t reg : {ier_, fcr_, lcr_, mcr_, scr_, dll_, dlm_}) w.u8(reg);
  w.boolean(overrun_);
  w.boolean(thr_pending_);
  const std::vector<uint8_t> rx(rx_.begin(), rx_.end());
  w.bytes(rx);
}

void Uart16550::load_state(state::Reader& r) {
  const uint8_t ier = r.u8();
  const uint8_t fcr = r.u8();
  const uint8_t lcr = r.u8();
  const uint8_t mcr = r.u8();
  const uint8_t scr = r.u8();
  const uint8_t dll = r.u8();
  const uint8_t dlm = r.u8();
  const bool overrun = r.boolean();
  const bool thr_pending = r.boolean();
  const std::vector<uint8_t> rx = r.bytes(kRxQueueSize);
  r.expect_end();
  // The masks write_reg applies.
  if ((ier & ~kIerMask) != 0)
    state::state_fail("state section '{}': bad IER {:#04x}", r.what(), ier);
  const bool fcr_ok =
      (fcr & kFcrEnable) != 0 ? (fcr & ~(kFcrEnable | kFcrTriggerMask)) == 0 : fcr == 0;
  if (!fcr_ok) state::state_fail("state section '{}': bad FCR {:#04x}", r.what(), fcr);
  if ((mcr & ~kMcrMask) != 0)
    state::state_fail("state section '{}': bad MCR {:#04x}", r.what(), mcr);

  ier_ = ier;
  fcr_ = fcr;
  lcr_ = lcr;
  mcr_ = mcr;
  scr_ = scr;
  dll_ = dll;
  dlm_ = dlm;
  overrun_ = overrun;
  thr_pending_ = thr_pending;
  rx_.assign(rx.begin(), rx.end());
  irq_level_ = current_iir() != kIirNoInt;
  irq_.set(irq_level_);
}

}  // namespace vessel
