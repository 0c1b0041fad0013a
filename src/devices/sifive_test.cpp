#include "devices/sifive_test.hpp"

#include <utility>

namespace vessel {

SifiveTest::SifiveTest(Handler handler) : handler_(std::move(handler)) {}

bool SifiveTest::mmio_read(uint64_t offset, unsigned size, uint64_t& value) {
  value = 0;
  return true;
}

bool SifiveTest::mmio_write(uint64_t offset, unsigned size, uint64_t value) {
  if (offset == 0) {
    const auto status = static_cast<uint16_t>(value);
    const auto code = static_cast<uint16_t>(value >> 16);
    switch (status) {
      case kFail:
        if (handler_) handler_({FinisherEvent::Kind::kFail, code});
        return true;
      case kPass:
        if (handler_) handler_({FinisherEvent::Kind::kPass, 0});
        return true;
      case kReset:
        if (handler_) handler_({FinisherEvent::Kind::kReset, 0});
        return true;
      default: break;
    }
  }
  if (log_limit_.allow()) {
    spdlog::warn("sifive_test: ignored write {:#x} at offset {:#x}", value, offset);
  }
  return true;
}

}  // namespace vessel
