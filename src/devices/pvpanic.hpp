// The pvpanic MMIO device ("qemu,pvpanic-mmio"; QEMU docs/specs/pvpanic.rst,
// Linux drivers/misc/pvpanic/pvpanic-mmio.c): one byte register. Reading it
// gives the events the device understands; the guest writes an event bit when
// it panics.
#pragma once

#include <cstdint>
#include <functional>

#include "base/log.hpp"
#include "devices/bus.hpp"

namespace vessel {

enum class PvpanicEvent {
  kPanicked,     // bit 0: the guest panicked, the host should act
  kCrashLoaded,  // bit 1: the guest panicked and will kdump itself; record only
};

class Pvpanic final : public MmioDevice {
 public:
  using Handler = std::function<void(PvpanicEvent)>;

  static constexpr uint8_t kPanicked = 1 << 0;     // PVPANIC_PANICKED
  static constexpr uint8_t kCrashLoaded = 1 << 1;  // PVPANIC_CRASH_LOADED
  static constexpr uint8_t kSupported = kPanicked | kCrashLoaded;

  explicit Pvpanic(Handler handler);

  // Offset 0 is the register (wider accesses use its low byte); the rest of
  // the window reads 0 and ignores writes. Unknown event bits are ignored.
  bool mmio_read(uint64_t offset, unsigned size, uint64_t& value) override;
  bool mmio_write(uint64_t offset, unsigned size, uint64_t value) override;

 private:
  Handler handler_;
  RateLimit log_limit_;
};

}  // namespace vessel
