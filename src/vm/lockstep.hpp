// `vessel run --lockstep`: the same VM on both engines at once, compared as
// they go. Two machines are built from one configuration (guest time from the
// instruction count, so both see the same interrupts at the same
// instructions); each runs on its own thread, both stop after every round of
// slices (random lengths, so the stops fall inside translated blocks too),
// and the harts' whole architectural state is compared there, guest RAM
// every kMemoryEvery rounds and at the end. The first difference is reported
// with the instruction count it appeared by; the interpreter is the
// reference. A developer's tool and a test of the translator on real guests.
#pragma once

#include <cstdint>
#include <string>

#include "vm/machine_config.hpp"

namespace vessel {

struct LockstepOptions {
  uint64_t seed = 1;          // of the slice lengths
  uint64_t max_slice = 4096;  // slices are 1 to this many instructions
};

// Runs `config` (its engine is ignored) on both engines in lockstep until the
// guest ends or they differ. Returns the guest's exit status if they agree
// all the way, kExitLockstepDiverged if not (after one line saying where).
inline constexpr int kExitLockstepDiverged = 3;
int run_lockstep(MachineConfig config, const LockstepOptions& options);

}  // namespace vessel
