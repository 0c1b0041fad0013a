// A small SBI (RISC-V Supervisor Binary Interface, v2.0) implemented inside
// vessel, for booting a kernel directly in S-mode without M-mode firmware:
// base, TIME, IPI, RFENCE, HSM, SRST, DBCN and the legacy console calls.
//
// It speaks in plain numbers (extension, function, six arguments) and acts
// through SbiHost, so it needs no knowledge of the hart's implementation.
#pragma once

#include <cstdint>
#include <span>

namespace vessel {

// SBI error codes (SBI spec, "Binary Encoding": Standard SBI Errors).
namespace sbi_error {
inline constexpr int64_t kSuccess = 0, kFailed = -1, kNotSupported = -2, kInvalidParam = -3;
inline constexpr int64_t kDenied = -4, kInvalidAddress = -5, kAlreadyAvailable = -6;
inline constexpr int64_t kAlreadyStarted = -7, kAlreadyStopped = -8;
}  // namespace sbi_error

// Extension IDs.
namespace sbi_ext {
inline constexpr uint64_t kLegacySetTimer = 0x00, kLegacyPutchar = 0x01, kLegacyGetchar = 0x02;
inline constexpr uint64_t kLegacyShutdown = 0x08;
inline constexpr uint64_t kBase = 0x10, kTime = 0x54494D45, kIpi = 0x735049;
inline constexpr uint64_t kRfence = 0x52464E43, kHsm = 0x48534D, kSrst = 0x53525354;
inline constexpr uint64_t kDbcn = 0x4442434E;
}  // namespace sbi_ext

struct SbiCall {
  uint64_t ext = 0;  // a7
  uint64_t fid = 0;  // a6
  uint64_t arg[6] = {};
  unsigned hart = 0;  // the calling hart
};

struct SbiRet {
  int64_t error = 0;    // returned in a0
  uint64_t value = 0;   // returned in a1
  bool legacy = false;  // legacy calls return only a0 (the value)
};

// HSM hart states.
enum class HartState : int64_t { kStarted = 0, kStopped = 1, kStartPending = 2, kStopPending = 3 };

class SbiHost {
 public:
  virtual ~SbiHost() = default;
  virtual unsigned num_harts() const = 0;
  virtual void set_timer(unsigned hart, uint64_t deadline) = 0;
  virtual void send_ipi(unsigned hart) = 0;
  virtual void remote_fence(unsigned hart) = 0;
  virtual HartState hart_state(unsigned hart) const = 0;
  virtual void hart_start(unsigned hart, uint64_t start_addr, uint64_t opaque) = 0;
  virtual void hart_stop(unsigned hart) = 0;
  virtual void system_reset(uint32_t type, uint32_t reason) = 0;
  virtual void console_write(uint8_t byte) = 0;
  virtual int console_read() = 0;  // -1 when no input is waiting
  // Reads guest-physical memory; false if outside RAM.
  virtual bool read_physical(uint64_t gpa, std::span<uint8_t> out) = 0;
  virtual bool write_physical(uint64_t gpa, std::span<const uint8_t> in) = 0;
};

SbiRet sbi_dispatch(const SbiCall& call, SbiHost& host);

}  // namespace vessel
