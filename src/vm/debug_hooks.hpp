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
  // After each run_hart: true to end the round here, without the rest of
  // its slices and without the stop between rounds (the debugger is about
  // to put the machine back into an earlier state: reverse execution).
  virtual bool abandon_round() { return false; }
  // The guest (or a replay's log) ends the run with `status`: true if the
  // debugger holds the machine there instead (a replay's end of history,
  // from which gdb may go back); the run then goes on.
  virtual bool hold_at_end(int /*status*/) { return false; }
};

}  // namespace vessel
