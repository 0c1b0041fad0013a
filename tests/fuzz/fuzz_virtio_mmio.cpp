// Register access sequences against a fresh virtio-mmio transport with an
// rng or console device per input, over guest memory the fuzzer also writes
// (rings, descriptors), the way a hostile driver would drive it.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "devices/virtio/console.hpp"
#include "devices/virtio/mmio_transport.hpp"
#include "devices/virtio/rng.hpp"
#include "mmio_ops.hpp"

namespace {

constexpr uint64_t kRam = 0x8000'0000;
constexpr uint64_t kRamSize = 8 * 4096;

struct Sink : vessel::IrqSink {
  void set_irq(uint32_t, bool on) override { level = on; }
  bool level = false;
};

constexpr uint64_t kRegisters[] = {0x000, 0x004, 0x008, 0x00c, 0x010, 0x014, 0x020, 0x024, 0x030,
                                   0x034, 0x038, 0x044, 0x050, 0x060, 0x064, 0x070, 0x080, 0x084,
                                   0x090, 0x094, 0x0a0, 0x0a4, 0x0ac, 0x0b0, 0x0b4, 0x0b8, 0x0bc,
                                   0x0c0, 0x0fc, 0x100, 0x104, 0x1fc, 0x200};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vessel;
  using namespace vessel::virtio;
  using fuzz::MmioOp;
  spdlog::set_level(spdlog::level::off);
  FuzzedDataProvider in(data, size);

  GuestMemory mem(kRam, kRamSize);
  const std::vector<uint8_t> image =
      in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, kRamSize));
  if (!image.empty()) mem.write(kRam, image);  // memcpy from an empty vector is UB

  Sink sink;
  uint64_t served = 0;
  size_t output = 0;
  const bool is_console = in.ConsumeBool();
  Console* console = nullptr;
  std::unique_ptr<VirtioDevice> device;
  if (is_console) {
    auto c = std::make_unique<Console>([&](std::span<const uint8_t> b) { output += b.size(); });
    console = c.get();
    device = std::move(c);
  } else {
    device = std::make_unique<Rng>([&](std::span<uint8_t> out) {
      std::fill(out.begin(), out.end(), 0x5a);
      served += out.size();
      return out.size();
    });
  }
  VirtioMmio dev(mem, IrqLine(&sink, 1), std::move(device));

  if (in.ConsumeBool()) {
    // Start from a driver that got as far as DRIVER_OK with its rings, so
    // requests happen from the first ops on.
    const uint64_t features = in.ConsumeBool() ? kFVersion1 : VirtioMmio::kTransportFeatures;
    const uint32_t init[][2] = {
        {0x070, 0},
        {0x070, kStatusAcknowledge | kStatusDriver},
        {0x024, 0},
        {0x020, static_cast<uint32_t>(features)},
        {0x024, 1},
        {0x020, static_cast<uint32_t>(features >> 32)},
        {0x070, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk},
        {0x030, 0},
        {0x038, 1u << in.ConsumeIntegralInRange<unsigned>(0, 6)},
        {0x080, static_cast<uint32_t>(kRam)},
        {0x090, static_cast<uint32_t>(kRam + 0x1000)},
        {0x0a0, static_cast<uint32_t>(kRam + 0x2000)},
        {0x044, 1},
        {0x030, 1},
        {0x038, 1u << in.ConsumeIntegralInRange<unsigned>(0, 6)},
        {0x080, static_cast<uint32_t>(kRam + 0x3000)},
        {0x090, static_cast<uint32_t>(kRam + 0x4000)},
        {0x0a0, static_cast<uint32_t>(kRam + 0x5000)},
        {0x044, 1},
        {0x070, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk},
    };
    for (const auto& [reg, value] : init) dev.mmio_write(reg, 4, value);
  }

  while (in.remaining_bytes() > 0) {
    const MmioOp op = fuzz::next_op(in, VirtioMmio::kWindowSize, [](FuzzedDataProvider& p) {
      return p.PickValueInArray(kRegisters) +
             (p.ConsumeBool() ? 0 : p.ConsumeIntegral<uint8_t>() % 8);
    });
    if (op.kind == MmioOp::Kind::kEvent) {
      // The guest writes its memory (rings, descriptors, indexes), or the
      // device finds a fault on its own.
      if (op.value % 16 == 0) {
        dev.device_error("fuzz");
      } else if (op.value % 16 == 1) {
        dev.config_changed();
      } else if (op.value % 16 == 2 && console != nullptr) {
        // Host input: a burst, sometimes more than the pending buffer holds.
        const size_t room = console->rx_space();
        const std::vector<uint8_t> bytes(
            op.value >> 60 == 0 ? Console::kPendingMax + 1 : (op.value >> 8) % 300, 'k');
        const bool taken = console->receive(bytes);
        FUZZ_CHECK(taken == (bytes.size() <= room));
        FUZZ_CHECK(console->rx_space() <= Console::kPendingMax);
      } else if (op.value % 16 == 4 || op.value % 16 == 5) {
        // The driver posts a one-descriptor buffer on queue 0 or 1 and
        // publishes it (the usual way, so requests really flow).
        Virtqueue& q = dev.queue(op.value % 16 - 4);
        if (q.ready()) {
          const auto i = static_cast<uint16_t>((op.value >> 8) % q.size());
          const Descriptor d{kRam + 0x6000 + (op.value >> 20) % 0x1000,
                             static_cast<uint32_t>((op.value >> 32) % 0x1400),
                             static_cast<uint16_t>((op.value >> 48) & kDescWrite), 0};
          mem.write(q.desc_addr() + 16 * uint64_t{i},
                    {reinterpret_cast<const uint8_t*>(&d), sizeof d});
          uint16_t idx = 0;
          mem.read(q.avail_addr() + 2, {reinterpret_cast<uint8_t*>(&idx), 2});
          mem.write(q.avail_addr() + 4 + 2 * uint64_t(idx % q.size()),
                    {reinterpret_cast<const uint8_t*>(&i), 2});
          ++idx;
          mem.write(q.avail_addr() + 2, {reinterpret_cast<const uint8_t*>(&idx), 2});
        }
      } else if (op.value % 16 == 3 && console != nullptr) {
        console->resize(static_cast<uint16_t>(op.value >> 16),
                        static_cast<uint16_t>(op.value >> 32));
      } else {
        const uint64_t off = (op.value >> 8) % (kRamSize - 8);
        const uint64_t v = op.offset;
        mem.write(kRam + off, {reinterpret_cast<const uint8_t*>(&v), 1 + op.value % 8});
      }
    } else {
      const uint32_t status_before = dev.status();
      const uint64_t value = fuzz::apply(dev, op);
      FUZZ_CHECK(fuzz::fits(value, op.size));
      if (op.kind == MmioOp::Kind::kRead && op.size == 4) {
        if (op.offset == 0x000) FUZZ_CHECK(value == mmio::kMagic);
        if (op.offset == 0x004) FUZZ_CHECK(value == 2);
        if (op.offset == 0x008) FUZZ_CHECK(value == (is_console ? kIdConsole : kIdRng));
        if (op.offset == 0x060) FUZZ_CHECK(value == dev.interrupt_status());
      }
      // Once DRIVER_OK is set, the configuration a device runs on is fixed.
      if ((status_before & kStatusDriverOk) != 0 && dev.status() != 0) {
        FUZZ_CHECK((dev.status() & kStatusDriverOk) != 0);
      }
    }
    const uint32_t status = dev.status();
    if ((status & kStatusFeaturesOk) != 0) {
      FUZZ_CHECK((dev.driver_features() & ~dev.offered_features()) == 0);
      FUZZ_CHECK((dev.driver_features() & kFVersion1) != 0);
    }
    if ((status & kStatusDriverOk) != 0) FUZZ_CHECK((status & kStatusFeaturesOk) != 0);
    FUZZ_CHECK((dev.interrupt_status() & ~3u) == 0);
    FUZZ_CHECK(dev.irq_level() == (dev.interrupt_status() != 0));
    FUZZ_CHECK(dev.irq_level() == sink.level);
    for (unsigned i = 0; i < 2; ++i) {
      Virtqueue& q = dev.queue(i);
      if (q.ready()) {
        FUZZ_CHECK(mem.contains(q.desc_addr(), 16 * uint64_t{q.size()}));
        FUZZ_CHECK(mem.contains(q.used_addr(), 6 + 8 * uint64_t{q.size()}));
      }
      if (q.broken()) FUZZ_CHECK((status & kStatusNeedsReset) != 0);
    }
  }
  return 0;
}
