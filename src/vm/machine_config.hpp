// What the user asked for: the options of `vessel run`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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
};

// Exit statuses of `vessel run` besides the guest's own.
inline constexpr int kExitGuestPanic = 101;
inline constexpr int kExitLimit = 124;  // --max-instructions or --timeout reached, like timeout(1)

}  // namespace vessel
