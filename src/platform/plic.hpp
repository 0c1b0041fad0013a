// The platform-level interrupt controller ("sifive,plic-1.0.0"; RISC-V PLIC
// spec 1.0.0, QEMU hw/intc/sifive_plic.c). Sources 1..95 as on QEMU's virt,
// 3 priority bits; two contexts per hart as on virt: context 2*h is hart h's
// M-mode (drives mip.MEIP), context 2*h+1 its S-mode (drives mip.SEIP).
//   0x000000 + 4*src                     priority (0 = never interrupts)
//   0x001000 + 4*word                    pending bits (read-only)
//   0x002000 + 0x80*ctx + 4*word         enable bits
//   0x200000 + 0x1000*ctx                priority threshold
//   0x200000 + 0x1000*ctx + 4            claim (read) / complete (write)
//
// Sources are level-triggered: while a source is not claimed its pending bit
// follows the line (as QEMU does, so a device that lowered its line before
// the hart got to it causes no spurious claim). A claimed source is not
// pended again until completed; at completion it pends again if its line is
// still high.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "base/log.hpp"
#include "base/state.hpp"
#include "devices/bus.hpp"
#include "devices/irq.hpp"
#include "platform/virt_map.hpp"

namespace vessel {

class Plic final : public MmioDevice, public IrqSink {
 public:
  static constexpr uint32_t kNumSources = virt::kPlicSources;  // including the unused source 0
  static constexpr uint32_t kPriorityMask = 0x7;
  static constexpr uint64_t kPendingBase = 0x1000;
  static constexpr uint64_t kEnableBase = 0x2000;
  static constexpr uint64_t kEnableStride = 0x80;
  static constexpr uint64_t kContextBase = 0x20'0000;
  static constexpr uint64_t kContextStride = 0x1000;

  // One HartIrqPins per hart, indexed by hart id; all must outlive the PLIC.
  explicit Plic(std::vector<HartIrqPins*> harts);

  // Registers are 32-bit: other sizes or misaligned accesses fault, as on
  // QEMU. Reserved offsets, absent sources and absent contexts read 0 and
  // ignore writes (a claim from an absent context returns 0).
  bool mmio_read(uint64_t offset, unsigned size, uint64_t& value) override;
  bool mmio_write(uint64_t offset, unsigned size, uint64_t value) override;

  // A device's line. Sources outside 1..95 are ignored.
  void set_irq(uint32_t source, bool level) override;

  unsigned num_contexts() const { return static_cast<unsigned>(contexts_.size()); }
  bool pending(uint32_t source) const;
  bool claimed(uint32_t source) const;

  // Snapshot state: priorities, pending, claimed (in service) and input-line
  // bits, and per context the enables and threshold. load_state requires the
  // saved numbers of sources and contexts to be this PLIC's, checks every
  // value against what the registers can hold and the gateway's invariant
  // (an unclaimed source is pending exactly while its line is high; a
  // claimed one is not pending), then re-drives every context's pin.
  static constexpr uint32_t kStateVersion = 1;
  void save_state(state::Writer& w) const;
  void load_state(state::Reader& r);

 private:
  static constexpr unsigned kWords = (kNumSources + 31) / 32;
  using Bits = std::array<uint32_t, kWords>;

  struct Context {
    Bits enable{};
    uint32_t threshold = 0;
  };

  static bool test(const Bits& bits, uint32_t source) {
    return (bits[source / 32] >> (source % 32)) & 1;
  }
  static void assign(Bits& bits, uint32_t source, bool on);

  bool read_context(unsigned ctx, uint64_t reg, uint64_t& value);
  void write_context(unsigned ctx, uint64_t reg, uint32_t value);
  uint32_t best(unsigned ctx) const;  // what a claim would return
  uint32_t claim(unsigned ctx);
  void complete(unsigned ctx, uint32_t source);
  void update();  // recomputes every context's output pin

  std::vector<HartIrqPins*> harts_;
  std::vector<Context> contexts_;
  std::array<uint32_t, kNumSources> priority_{};
  Bits pending_{};
  Bits claimed_{};
  Bits level_{};  // the current input lines
  RateLimit log_limit_;
};

}  // namespace vessel
