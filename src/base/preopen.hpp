// Files opened ahead of the code that would open them by name. `vessel
// receive` opens everything its command line names (disks, the console log,
// /dev/net/tun) before it locks itself down (--jail, --user, the seccomp
// filter that is in place before the peer's first byte), but builds the VM
// from them only once a migration has arrived; the devices take their
// descriptor from here when there is one.
#pragma once

#include <string>

#include "base/unique_fd.hpp"

namespace vessel::preopen {

// Keeps FD under KEY until taken (several under one key are taken in turn).
void keep(const std::string& key, UniqueFd fd);
// The descriptor kept under KEY, or an invalid one if none is left.
UniqueFd take(const std::string& key);
// Closes whatever was not taken.
void clear();

// The keys the devices use.
std::string disk_key(const std::string& path, bool read_only);
std::string log_key(const std::string& path);
// /dev/net/tun already attached to the tap interface NAME (TUNSETIFF needs
// CAP_NET_ADMIN unless the tap is persistent and the user's: done before
// --user drops it).
std::string tap_key(const std::string& name);
inline constexpr const char* kTunKey = "/dev/net/tun";

}  // namespace vessel::preopen
