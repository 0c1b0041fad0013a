#include "devices/pvpanic.hpp"

#include <utility>

namespace vessel {

Pvpanic::Pvpanic(Handler handler) : handler_(std::move(handler)) {}

bool Pvpanic::mmio_read(uint64_t offset, unsigned size, uint64_t& value) {
  value = offset == 0 ? kSupported : 0;
  return true;
}

bool Pvpanic::mmio_write(uint64_t offset, unsigned size, uint64_t value) {
  if (offset != 0) return true;
  const auto events = static_cast<uint8_t>(value);
  if ((events & ~kSupported) != 0 && log_limit_.allow()) {
    spdlog::warn("pvpanic: unknown event bits {:#04x}", events & ~kSupported);
  }
  if (!handler_) return true;
  // A panic that the host handles outranks a crash the guest will dump itself.
  if (events & kPanicked) {
    handler_(PvpanicEvent::kPanicked);
  } else if (events & kCrashLoaded) {
    handler_(PvpanicEvent::kCrashLoaded);
  }
  return true;
}

}  // namespace vessel
