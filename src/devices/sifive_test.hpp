// The SiFive test finisher ("sifive,test0", QEMU hw/misc/sifive_test.c): a
// guest writes a status word at offset 0 to end the run. Linux reaches it
// through the syscon-poweroff / syscon-reboot nodes, bare-metal tests directly.
//   bits 15:0  0x3333 fail, 0x5555 pass, 0x7777 reset
//   bits 31:16 exit code (fail only)
#pragma once

#include <cstdint>
#include <functional>

#include "base/log.hpp"
#include "devices/bus.hpp"

namespace vessel {

struct FinisherEvent {
  enum class Kind { kPass, kFail, kReset };
  Kind kind;
  uint16_t code;  // the guest's exit code for kFail, 0 otherwise
};

class SifiveTest final : public MmioDevice {
 public:
  using Handler = std::function<void(FinisherEvent)>;

  static constexpr uint16_t kFail = 0x3333;
  static constexpr uint16_t kPass = 0x5555;
  static constexpr uint16_t kReset = 0x7777;

  explicit SifiveTest(Handler handler);

  // Reads return 0. Writes of any size are taken at offset 0 (the value is
  // zero-extended, so a byte or halfword write cannot carry a code); other
  // offsets and unknown status words are ignored, as in QEMU.
  bool mmio_read(uint64_t offset, unsigned size, uint64_t& value) override;
  bool mmio_write(uint64_t offset, unsigned size, uint64_t value) override;

 private:
  Handler handler_;
  RateLimit log_limit_;
};

}  // namespace vessel
