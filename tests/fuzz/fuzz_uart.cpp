// Guest register accesses and host input against a fresh UART per input.
#include <spdlog/spdlog.h>

#include "devices/uart16550.hpp"
#include "mmio_ops.hpp"

namespace {

struct Sink : vessel::IrqSink {
  void set_irq(uint32_t, bool on) override { level = on; }
  bool level = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vessel;
  using fuzz::MmioOp;
  spdlog::set_level(spdlog::level::off);
  FuzzedDataProvider in(data, size);
  Sink sink;
  size_t output = 0;
  Uart16550 uart(IrqLine(&sink, 10), [&](uint8_t) { ++output; });

  while (in.remaining_bytes() > 0) {
    const MmioOp op = fuzz::next_op(
        in, 0x100, [](FuzzedDataProvider& p) { return p.ConsumeIntegralInRange<uint64_t>(0, 8); });
    if (op.kind == MmioOp::Kind::kEvent) {
      // Host input: a burst of bytes, sometimes enough to fill the queue.
      const size_t count = op.value % 8 == 0 ? Uart16550::kRxQueueSize + 1 : op.value % 32;
      for (size_t i = 0; i < count; ++i) uart.receive(static_cast<uint8_t>(op.value >> 8));
    } else {
      const uint64_t value = fuzz::apply(uart, op);
      FUZZ_CHECK(fuzz::fits(value, op.size));
      if (op.kind == MmioOp::Kind::kRead && op.size == 1 && op.offset == 5) {
        FUZZ_CHECK((value & 0x60) == 0x60);  // THRE and TEMT: transmit never blocks
      }
      if (op.kind == MmioOp::Kind::kRead && op.size == 1 && op.offset == 2) {
        const uint64_t id = value & 0x0f;
        FUZZ_CHECK(id == 0x1 || id == 0x2 || id == 0x4 || id == 0x6 || id == 0xc);
        FUZZ_CHECK((value & 0x30) == 0);
      }
    }
    FUZZ_CHECK(uart.rx_space() <= Uart16550::kRxQueueSize);
    FUZZ_CHECK(uart.irq_level() == sink.level);
  }
  return 0;
}
