// `vessel run --record DIR` and `vessel replay DIR`: where a recording
// lives and how a replay is built from it (the journal, vm/journal.hpp,
// does the recording and replaying itself).
//
// DIR holds:
//   start/    the starting state: a snapshot (vm/snapshot.hpp) taken at
//             instruction 0, once the guest is loaded. A replay restores it,
//             so it needs neither the kernel nor the disk files, and a
//             recording is self-contained (a copy of DIR replays anywhere).
//   log.bin   the inputs, checkpoints and end (vm/replay_log.hpp).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "vm/journal.hpp"
#include "vm/machine.hpp"

namespace vessel {

// Before the VM is built: DIR is created (mode 0700) or must be empty.
// Throws Error.
void check_record_dir(const std::string& dir);
// Once the VM is loaded and before it runs: writes DIR/start and starts
// DIR/log.bin.
void start_recording(Machine& vm, Journal& journal, const std::string& dir);

// `vessel ctl record start DIR` on a running VM (on its VM thread, between
// rounds): DIR is created (0700) or must be empty; the VM switches to
// instruction-count time (Machine::begin_deterministic), DIR/start gets a
// snapshot of it as it is now and DIR/log.bin the inputs from here on, as
// --record writes them. A VM with a host thread per hart ends them and
// runs round-robin while recorded. Throws Error (one line) if the VM cannot
// be recorded (no journal, or under the gdb stub) or already is.
nlohmann::json start_recording_live(Machine& vm, const std::string& dir);
// `vessel ctl record stop`: the log ends at the VM's next stop;
// `on_stopped` runs then (on the VM thread). Throws Error if the VM is not
// being recorded through the control socket.
void stop_recording_live(Machine& vm, std::function<void()> on_stopped);

// Reads and checks DIR/log.bin from end to end; throws Error with one line
// (the file, the byte offset, the instruction count reached) if it is
// corrupted, truncated or of another version.
std::unique_ptr<Journal> open_replay(const std::string& dir, std::optional<Perturb> perturb);
// The VM at instruction 0, its inputs coming from `journal`.
std::unique_ptr<Machine> restore_for_replay(const std::string& dir, Journal& journal);

}  // namespace vessel
