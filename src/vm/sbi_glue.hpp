// Connects vessel's built-in SBI (platform/sbi.hpp) to a Machine's harts.
#pragma once

#include <cstdint>
#include <vector>

#include "base/state.hpp"
#include "engine/riscv/hart.hpp"
#include "platform/sbi.hpp"

namespace vessel {

class Machine;

class SbiFirmware final : public SbiHost {
 public:
  explicit SbiFirmware(Machine& machine);

  // The ECALL hook installed on every hart.
  bool handle_ecall(rv::Hart& hart);

  // Raises or lowers each hart's supervisor timer pin for guest time `now`
  // (with the device lock held, as next_deadline and save/load_state).
  void update_timers(uint64_t now);
  uint64_t next_deadline() const;
  // Hart `hart`'s deadline (UINT64_MAX: none).
  uint64_t deadline(unsigned hart) const {
    return hart < deadlines_.size() ? deadlines_[hart] : UINT64_MAX;
  }

  // Snapshot state: each hart's SBI timer deadline. load_state requires the
  // saved number of harts to be the machine's and drives the STIP pins from
  // the machine's guest time as it is then (restore time first, or call
  // update_timers() after).
  static constexpr uint32_t kStateVersion = 1;
  void save_state(state::Writer& w) const;
  void load_state(state::Reader& r);

  unsigned num_harts() const override;
  void set_timer(unsigned hart, uint64_t deadline) override;
  void send_ipi(unsigned hart) override;
  void remote_fence(unsigned hart) override;
  HartState hart_state(unsigned hart) const override;
  void hart_start(unsigned hart, uint64_t start_addr, uint64_t opaque) override;
  void hart_stop(unsigned hart) override;
  void system_reset(uint32_t type, uint32_t reason) override;
  void console_write(uint8_t byte) override;
  int console_read() override;
  bool read_physical(uint64_t gpa, std::span<uint8_t> out) override;
  bool write_physical(uint64_t gpa, std::span<const uint8_t> in) override;

 private:
  Machine& machine_;
  std::vector<uint64_t> deadlines_;
};

}  // namespace vessel
