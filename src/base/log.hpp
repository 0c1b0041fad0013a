// Logging through spdlog, plus a rate limiter for messages a guest can trigger
// at will (a hostile guest must not be able to flood the host's log).
#pragma once

#include <spdlog/spdlog.h>

#include <cstdint>

namespace vessel {

// Allows `burst` messages, then one per `interval` calls of allow(). Cheap and
// deterministic: it counts events, not wall time.
class RateLimit {
 public:
  explicit RateLimit(uint32_t burst = 8, uint32_t interval = 1000)
      : burst_(burst), interval_(interval) {}
  bool allow() {
    ++events_;
    if (events_ <= burst_) return true;
    return (events_ - burst_) % interval_ == 0;
  }

 private:
  uint32_t burst_;
  uint32_t interval_;
  uint64_t events_ = 0;
};

}  // namespace vessel
