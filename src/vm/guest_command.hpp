// The default guest and the command a user asks it to run
// (`vessel run -- COMMAND ARGS...`).
#pragma once

#include <string>
#include <vector>

namespace vessel {

struct DefaultGuest {
  std::string kernel;
  std::string initrd;
};

// The kernel and initramfs built by `make guest` (scripts/build-guest) in
// $VESSEL_CACHE or ~/.cache/vessel. Throws Error saying how to build them
// if they are missing.
DefaultGuest find_default_guest();

// The kernel command line of the default guest, before any command: its
// console on the UART (ttyS0) or on virtio-console (hvc1; hvc0 is the SBI console).
std::string default_cmdline(bool virtio_console = false);

// Shell-quotes the words and encodes the command for the guest's init as
// `vessel.cmd=BASE64` (see guest/init).
std::string encode_guest_command(const std::vector<std::string>& words);

}  // namespace vessel
