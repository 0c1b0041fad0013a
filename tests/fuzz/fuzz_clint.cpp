// Guest register accesses and the passing of time against a fresh CLINT per
// input, on a deterministic clock the input drives.
#include <spdlog/spdlog.h>

#include "mmio_ops.hpp"
#include "platform/clint.hpp"
#include "platform/virt_map.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vessel;
  using fuzz::MmioOp;
  spdlog::set_level(spdlog::level::off);
  FuzzedDataProvider in(data, size);
  const unsigned harts = in.ConsumeIntegralInRange<unsigned>(1, virt::kMaxHarts);
  std::vector<HartIrqPins> pins(harts);
  std::vector<HartIrqPins*> pin_ptrs;
  for (HartIrqPins& p : pins) pin_ptrs.push_back(&p);
  uint64_t retired = 0;
  GuestClock clock(GuestClock::Mode::kDeterministic, &retired);
  Clint clint(clock, pin_ptrs);
  constexpr uint64_t kAllowedPins =
      (uint64_t{1} << HartIrqPins::kMsip) | (uint64_t{1} << HartIrqPins::kMtip);

  while (in.remaining_bytes() > 0) {
    const MmioOp op = fuzz::next_op(in, virt::kClintSize, [&](FuzzedDataProvider& p) -> uint64_t {
      const uint64_t hart = p.ConsumeIntegralInRange<uint64_t>(0, harts);
      switch (p.ConsumeIntegralInRange<unsigned>(0, 3)) {
        case 0: return Clint::kMsipBase + 4 * hart;
        case 1: return Clint::kMtimecmpBase + 8 * hart;
        case 2: return Clint::kMtimecmpBase + 8 * hart + 4;
        default: return Clint::kMtime + 4 * p.ConsumeIntegralInRange<uint64_t>(0, 2);
      }
    });
    if (op.kind == MmioOp::Kind::kEvent) {
      // Time passes (sometimes a lot, wrapping the counter), then the
      // machine's between-slices update.
      retired += op.value % 4 == 0 ? op.value : op.value % 100'000;
      clint.update();
    } else {
      const uint64_t value = fuzz::apply(clint, op);
      FUZZ_CHECK(fuzz::fits(value, op.size));
    }
    // Every write re-evaluates the pins, and time only moves in kEvent
    // (followed by update()), so MTIP must match mtimecmp exactly here.
    const uint64_t now = clock.now();
    for (unsigned h = 0; h < harts; ++h) {
      FUZZ_CHECK((pins[h].level & ~kAllowedPins) == 0);
      const bool mtip = (pins[h].level >> HartIrqPins::kMtip) & 1;
      FUZZ_CHECK(mtip == (now >= clint.mtimecmp(h)));
      FUZZ_CHECK(((pins[h].level >> HartIrqPins::kMsip) & 1) == clint.msip(h));
    }
    const uint64_t deadline = clint.next_deadline();
    FUZZ_CHECK(deadline == UINT64_MAX || deadline > now);
  }
  return 0;
}
