// What a migration destination accepts.
//
// The destination's VM is defined by its own command line: its disks,
// networks, devices and console, and optionally its memory size and harts.
// The source's description (the HELLO) is only checked against it, never
// used to open anything: the device list (kinds and order), each disk's size
// and read-only flag, each network device's MAC, the memory size (against
// --mem, and against what this host has available) and the harts (against
// --cpus). What the guest brings with it, rather than the host, comes from
// the source: the memory size and harts when not given, guest time mode,
// and the names of what it booted (kept for later snapshots; never opened).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vm/machine_config.hpp"
#include "vm/migration_stream.hpp"

namespace vessel {

// The destination's side: `vessel receive`'s options.
struct DestinationVm {
  MachineConfig machine;  // disks, nets, rng, balloon, virtio console, console log, sharing
  std::optional<uint64_t> mem_size;  // --mem: the VM must have exactly this much
  std::optional<unsigned> cpus;      // --cpus
};

// The source's side, read from its HELLO.
struct SourceVm {
  MachineConfig config;
  std::vector<uint64_t> disk_sizes;  // in the order of config.disks
};

// Parses the HELLO's description (hostile input: types and ranges checked).
// Throws Error with a detail for the destination's log.
SourceVm parse_source_vm(std::string_view description);

// The sizes of the destination's own disks, in order; throws Error (one line
// naming the --disk) if one cannot be opened or is not a file or device.
std::vector<uint64_t> measure_disks(const std::vector<DiskConfig>& disks);

// Empty if the source's VM fits this destination; otherwise every mismatch,
// "; "-separated, for the destination's log (never for the peer).
// `available_memory` is what this host can give (MemAvailable).
std::string incompatibility(const SourceVm& source, const MigrationHello& hello,
                            const DestinationVm& destination,
                            const std::vector<uint64_t>& destination_disk_sizes,
                            uint64_t available_memory);

// The configuration the destination runs: its own devices and host choices,
// the source's guest.
MachineConfig destination_config(const SourceVm& source, const DestinationVm& destination);

// The one reply a refused source gets for a description that does not fit.
inline constexpr std::string_view kIncompatibleReply = "incompatible VM description";
// ... and for anything else that went wrong on the destination.
inline constexpr std::string_view kFailedReply = "the destination could not take the VM";

}  // namespace vessel
