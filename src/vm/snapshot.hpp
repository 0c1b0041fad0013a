// Snapshot and restore: a VM's state written to a directory, and a VM
// brought back from one exactly where it was.
//
// A snapshot directory holds:
//   state.bin   the state blob (base/state.hpp): a "vm" section with the
//               configuration and the disks' identity, then every part's state
//   memory.bin  guest RAM byte for byte, zero pages left as holes (sparse);
//               restore maps it copy-on-write, so it reads only what the
//               guest touches
// and nothing else: vessel writes a snapshot only into a directory that is
// new, empty or holds an earlier snapshot, so a planted symlink or file is
// never written through and a user's files are never mixed with guest RAM.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "base/state.hpp"
#include "vm/machine.hpp"

namespace vessel {

// The configuration and disk identity section shared by snapshots and
// migration streams.
state::Section describe_vm(const MachineConfig& config);
// Reads it back. With `check_disks`, each disk must be the same file (same
// device and inode, same size) and, unless `allow_disk_change`, unmodified
// since (same modification time).
MachineConfig vm_from_description(const std::vector<state::Section>& sections, bool check_disks,
                                  bool allow_disk_change);

// On the VM thread: quiesces the devices, writes DIR (created if missing,
// mode 0700; files mode 0600, created by base/safe_file.hpp), returns
// figures for the control socket. A DIR that is a symlink or holds anything
// but a snapshot's two files is refused (Error) before the VM is touched.
nlohmann::json take_snapshot(Machine& vm, const std::string& dir);

struct RestoreOptions {
  std::string dir;
  bool allow_disk_change = false;
  std::string console_log;  // as MachineConfig::console_log
  // A replay (vm/record_replay.hpp): its disks are not opened, so not
  // checked; its inputs come from `journal`; the recording's limit.
  bool check_disks = true;
  Journal* journal = nullptr;
  // Guest memory copied into anonymous memory instead of mapped from the
  // file (a replay: see load_memory_file).
  bool copy_memory = false;
  uint64_t max_instructions = 0;
};
// Builds the VM saved in `options.dir`, ready to run(). Throws Error (one
// line) on a missing, truncated, corrupted or mismatched snapshot.
std::unique_ptr<Machine> restore_snapshot(const RestoreOptions& options);

}  // namespace vessel
