// The `--net` option: which backend a virtio-net device uses.
//
//   --net none
//   --net user[,hostfwd=RULE]...[,mac=MAC]
//   --net tap=NAME[,mac=MAC]
//
// RULE is QEMU's hostfwd syntax, `[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport`.
// An empty host address means 127.0.0.1 (QEMU binds every address; forwarding
// into a guest from other machines must be asked for with 0.0.0.0), an empty
// guest address the guest's DHCP address 10.0.2.15.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "devices/net/net_backend.hpp"

namespace vessel::net {

struct HostForward {
  bool udp = false;
  in_addr host_addr{};  // network byte order
  uint16_t host_port = 0;
  in_addr guest_addr{};  // network byte order
  uint16_t guest_port = 0;
};

struct NetOptions {
  enum class Kind { kNone, kUser, kTap };
  Kind kind = Kind::kNone;
  std::vector<HostForward> hostfwd;  // kUser only
  std::string tap_name;              // kTap only
  std::optional<MacAddress> mac;     // the device's MAC if given
};

// Parses one `--net` value. Throws Error with one line naming the bad part.
NetOptions parse_net_options(std::string_view spec);
// Parses one hostfwd rule (the part after `hostfwd=`).
HostForward parse_hostfwd(std::string_view rule);
// Parses `52:54:00:12:34:56`; rejects multicast addresses.
MacAddress parse_mac(std::string_view text);

// Opens the backend `options` asks for (nullptr for kNone). Throws Error if
// the host refuses (a hostfwd port in use, no /dev/net/tun, ...).
std::unique_ptr<NetBackend> open_net_backend(const NetOptions& options);

}  // namespace vessel::net
