// Which in-memory checkpoint of a replay to use and which to give up
// (reverse debugging, vm/replay_history.hpp): pure functions over the
// checkpoints' positions (VM-wide retired-instruction counts, ascending,
// the first 0), so they are unit-tested without a VM.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace vessel::checkpoint_plan {

// The checkpoint to re-execute from to reach `target`: the latest one
// strictly before it, so the machine is run up to the target and stops
// inside the slice that retires its instruction (a checkpoint sits between
// rounds, after the inputs and timers of that stop: a later state at the
// same count). Target 0 is the start itself. nullopt if `positions` is
// empty or does not start at 0.
std::optional<size_t> restore_index(std::span<const uint64_t> positions, uint64_t target);

// A new checkpoint is due `interval` instructions past the newest one (or
// at once when there is none). Only the frontier grows: a checkpoint given
// up is not taken again when the replay passes that point once more.
bool due(std::span<const uint64_t> positions, uint64_t position, uint64_t interval);

// The checkpoint to give up when over the memory budget: never the first
// (the start) nor the newest; among the others the one whose loss leaves
// the smallest gap between its neighbours relative to its distance from
// `now` (the current position), so that checkpoints thin out with age:
// re-executing far back costs more, near the current position (where
// reverse-stepi goes) stays cheap. Ties go to the oldest. nullopt with
// fewer than 3 checkpoints.
std::optional<size_t> drop_index(std::span<const uint64_t> positions, uint64_t now);

}  // namespace vessel::checkpoint_plan
