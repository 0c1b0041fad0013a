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

// The kernel command line of the default guest, before any command.
std::string default_cmdline();

// Shell-quotes the words and encodes the command for the guest's init as
// `vessel.cmd=BASE64` (see guest/init).
std::string encode_guest_command(const std::vector<std::string>& words);

}  // namespace vessel
