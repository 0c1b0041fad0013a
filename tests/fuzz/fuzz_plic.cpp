// Guest register accesses and device lines against a fresh PLIC per input.
#include <spdlog/spdlog.h>

#include "mmio_ops.hpp"
#include "platform/plic.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vessel;
  using fuzz::MmioOp;
  spdlog::set_level(spdlog::level::off);
  FuzzedDataProvider in(data, size);
  const unsigned harts = in.ConsumeIntegralInRange<unsigned>(1, virt::kMaxHarts);
  std::vector<HartIrqPins> pins(harts);
  std::vector<HartIrqPins*> pin_ptrs;
  for (HartIrqPins& p : pins) pin_ptrs.push_back(&p);
  Plic plic(pin_ptrs);
  if (in.ConsumeBool()) {
    // Start where a booted kernel would be: every source with a priority and
    // enabled in every context, so claims and completions happen from the
    // first ops instead of after a long chain of lucky writes.
    for (uint32_t src = 1; src < Plic::kNumSources; ++src) plic.mmio_write(4 * src, 4, 1 + src % 7);
    for (unsigned ctx = 0; ctx < 2 * harts; ++ctx) {
      for (unsigned word = 0; word < 3; ++word) {
        plic.mmio_write(Plic::kEnableBase + Plic::kEnableStride * ctx + 4 * word, 4, ~0u);
      }
    }
  }
  constexpr uint64_t kAllowedPins =
      (uint64_t{1} << HartIrqPins::kMeip) | (uint64_t{1} << HartIrqPins::kSeip);

  while (in.remaining_bytes() > 0) {
    const MmioOp op = fuzz::next_op(in, virt::kPlicSize, [&](FuzzedDataProvider& p) -> uint64_t {
      // One more context than exists, to poke the edge.
      const uint64_t ctx = p.ConsumeIntegralInRange<uint64_t>(0, 2 * harts);
      switch (p.ConsumeIntegralInRange<unsigned>(0, 4)) {
        case 0: return 4 * p.ConsumeIntegralInRange<uint64_t>(0, Plic::kNumSources);
        case 1: return Plic::kPendingBase + 4 * p.ConsumeIntegralInRange<uint64_t>(0, 3);
        case 2:
          return Plic::kEnableBase + Plic::kEnableStride * ctx +
                 4 * p.ConsumeIntegralInRange<uint64_t>(0, 3);
        case 3: return Plic::kContextBase + Plic::kContextStride * ctx;
        default: return Plic::kContextBase + Plic::kContextStride * ctx + 4;  // claim/complete
      }
    });
    if (op.kind == MmioOp::Kind::kEvent) {
      // A device line; sometimes a source number no device could have.
      const auto source =
          static_cast<uint32_t>(op.value % 8 == 0 ? op.value >> 8 : (op.value >> 8) % 100);
      plic.set_irq(source, (op.value & 0x10) != 0);
    } else {
      const uint64_t value = fuzz::apply(plic, op);
      FUZZ_CHECK(fuzz::fits(value, op.size));
      const uint64_t reg = (op.offset - Plic::kContextBase) % Plic::kContextStride;
      if (op.kind == MmioOp::Kind::kRead && op.offset >= Plic::kContextBase && reg == 4) {
        FUZZ_CHECK(value < Plic::kNumSources);
        if (value != 0) FUZZ_CHECK(plic.claimed(static_cast<uint32_t>(value)));
      }
    }
    for (uint32_t src = 0; src < Plic::kNumSources; ++src) {
      FUZZ_CHECK(!(plic.pending(src) && plic.claimed(src)));
    }
    FUZZ_CHECK(!plic.pending(0) && !plic.claimed(0));
    for (const HartIrqPins& p : pins) FUZZ_CHECK((p.level & ~kAllowedPins) == 0);
  }
  return 0;
}
