// What the user asked for: the options of `vessel run`.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/vcpu.hpp"

namespace vessel {

struct DiskConfig {
  std::string path;
  bool read_only = false;
};

struct MachineConfig {
  uint64_t mem_size = uint64_t{512} << 20;
  unsigned cpus = 1;
  std::string bios;    // firmware or bare-metal program (ELF or raw binary)
  std::string kernel;  // RISC-V Linux Image
  std::string initrd;
  std::string cmdline;
  uint64_t max_instructions = 0;  // 0: no limit
  double timeout_seconds = 0;     // 0: no limit
  bool deterministic = false;     // guest time from the instruction count
  bool stats = false;             // print instruction count and time at exit
  std::vector<DiskConfig> disks;  // virtio-blk, in order: /dev/vda, /dev/vdb, ...
  std::vector<std::string> nets;  // virtio-net, each a --net spec ("user,hostfwd=...", "tap=NAME")
  bool rng = false;               // virtio-rng fed by the host's getrandom()
  bool virtio_console = false;    // the terminal on virtio-console (hvc0) instead of the UART
  bool balloon = false;           // virtio-balloon (with free page reporting)
  bool page_sharing = false;      // content-based page sharing (memory/page_scanner)
  uint64_t sharing_rate = 20000;  // pages scanned per second when sharing
  unsigned sharing_break_percent = 50;  // PageScanner::set_break_percent
  // Where the console goes: empty for the terminal; otherwise a file that
  // receives the output (vessel host: one log per VM), with no input.
  std::string console_log;
  // Measured launch (vm/launch_digest.hpp): digest what is booted, give it to
  // the guest in its device tree, log it. A fact about the launch, not the
  // VM's state, so it is not in the JSON form either.
  bool measure_launch = false;
  // How guest code runs: a choice of this host, not part of the VM, so it is
  // not in the JSON form (restore and receive take their own --engine).
  Engine engine = Engine::kJit;
  uint64_t jit_cache_bytes = 0;  // the translator's code cache; 0: its default
  uint32_t jit_warmup = 0;       // arrivals before code is translated; 0: the default
};

// The configuration as JSON: a snapshot records it and a migration stream
// carries it, so the VM is rebuilt with the same devices. config_from_json
// reads hostile input: it checks types and ranges and throws Error.
nlohmann::json config_to_json(const MachineConfig& config);
MachineConfig config_from_json(const nlohmann::json& json);

// Exit statuses of `vessel run` besides the guest's own.
inline constexpr int kExitGuestPanic = 101;
inline constexpr int kExitLimit = 124;  // --max-instructions or --timeout reached, like timeout(1)

}  // namespace vessel
