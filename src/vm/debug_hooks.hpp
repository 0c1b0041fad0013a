// What the round-robin scheduler (machine_run.cpp) asks of a debugger
// attached to the machine (the gdb stub, vm/gdb/stub.hpp). With none
// attached the scheduler calls Vcpu::run directly: no cost at all.
#pragma once

#include <cstdint>

#include "engine/vcpu.hpp"

namespace vessel {

class DebugHooks {
 public:
  virtual ~DebugHooks() = default;
  // On the VM thread before each round of slices. Returns false while the
  // debugger holds the VM (it waits a little for its client first, so the
  // scheduler can check signals and limits and call again).
  virtual bool before_round() = 0;
  // Runs hart `i` instead of Vcpu::run, with the same contract; it may run
  // fewer instructions (none while a stop is pending).
  virtual uint64_t run_hart(unsigned i, uint64_t budget, StopReason& stop) = 0;
  // The run ended with `status` (the guest powered off, a limit, `k`).
  virtual void vm_exited(int status) = 0;
};

}  // namespace vessel
