#include "devices/net/net_options.hpp"

#include <arpa/inet.h>
#include <net/if.h>

#include <charconv>

#include "base/error.hpp"
#include "devices/net/slirp_backend.hpp"
#include "devices/net/tap_backend.hpp"

namespace vessel::net {

namespace {

constexpr std::string_view kHostfwdSyntax = "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport";

// Splits `text` at the first `sep`; false if there is none.
bool split(std::string_view text, char sep, std::string_view& head, std::string_view& tail) {
  const size_t at = text.find(sep);
  if (at == std::string_view::npos) return false;
  head = text.substr(0, at);
  tail = text.substr(at + 1);
  return true;
}

// Splits `text` at the last `sep`; false if there is none.
bool rsplit(std::string_view text, char sep, std::string_view& head, std::string_view& tail) {
  const size_t at = text.rfind(sep);
  if (at == std::string_view::npos) return false;
  head = text.substr(0, at);
  tail = text.substr(at + 1);
  return true;
}

bool parse_port(std::string_view text, uint16_t& port) {
  unsigned value = 0;
  if (text.empty() || text.size() > 5) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return false;
  if (value == 0 || value > 65535) return false;
  port = static_cast<uint16_t>(value);
  return true;
}

bool parse_ipv4(std::string_view text, in_addr& addr) {
  if (text.size() >= INET_ADDRSTRLEN) return false;
  const std::string copy(text);
  return inet_pton(AF_INET, copy.c_str(), &addr) == 1;
}

bool valid_tap_name(std::string_view name) {
  if (name.empty() || name.size() >= IFNAMSIZ || name == "." || name == "..") return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

HostForward parse_hostfwd(std::string_view rule) {
  HostForward fwd;
  std::string_view proto, rest, host, guest, host_addr, host_port, guest_addr, guest_port;
  if (!split(rule, ':', proto, rest) || !split(rest, '-', host, guest) ||
      !rsplit(host, ':', host_addr, host_port) || !rsplit(guest, ':', guest_addr, guest_port)) {
    fail("--net: bad hostfwd rule '{}': expected {}", rule, kHostfwdSyntax);
  }
  if (proto == "udp") {
    fwd.udp = true;
  } else if (proto != "tcp" && !proto.empty()) {
    fail("--net: bad hostfwd rule '{}': protocol '{}' is not tcp or udp", rule, proto);
  }
  if (host_addr.empty()) host_addr = "127.0.0.1";
  if (!parse_ipv4(host_addr, fwd.host_addr)) {
    fail("--net: bad hostfwd rule '{}': host address '{}' is not an IPv4 address", rule, host_addr);
  }
  if (!parse_port(host_port, fwd.host_port)) {
    fail("--net: bad hostfwd rule '{}': host port '{}' is not 1-65535", rule, host_port);
  }
  if (guest_addr.empty()) guest_addr = SlirpBackend::kGuest;
  if (!parse_ipv4(guest_addr, fwd.guest_addr)) {
    fail("--net: bad hostfwd rule '{}': guest address '{}' is not an IPv4 address", rule,
         guest_addr);
  }
  // The guest must be on the user network 10.0.2.0/24.
  if ((ntohl(fwd.guest_addr.s_addr) & 0xffffff00u) != 0x0a000200u) {
    fail("--net: bad hostfwd rule '{}': guest address '{}' is outside the user network {}/24", rule,
         guest_addr, SlirpBackend::kNetwork);
  }
  if (!parse_port(guest_port, fwd.guest_port)) {
    fail("--net: bad hostfwd rule '{}': guest port '{}' is not 1-65535", rule, guest_port);
  }
  return fwd;
}

MacAddress parse_mac(std::string_view text) {
  MacAddress mac{};
  const auto bad = [&](const char* why) { fail("--net: bad MAC address '{}': {}", text, why); };
  if (text.size() != 17) bad("expected six hex bytes like 52:54:00:12:34:56");
  for (size_t i = 0; i < 6; ++i) {
    const char* p = text.data() + i * 3;
    if (i < 5 && p[2] != ':') bad("expected six hex bytes like 52:54:00:12:34:56");
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(p, p + 2, value, 16);
    if (ec != std::errc() || end != p + 2) bad("expected six hex bytes like 52:54:00:12:34:56");
    mac[i] = static_cast<uint8_t>(value);
  }
  if ((mac[0] & 1) != 0) bad("a multicast address cannot name a NIC");
  if (mac == MacAddress{}) bad("the all-zero address cannot name a NIC");
  return mac;
}

NetOptions parse_net_options(std::string_view spec) {
  NetOptions options;
  std::string_view head = spec, rest;
  const bool has_rest = split(spec, ',', head, rest);
  if (!has_rest) head = spec;

  if (head == "none") {
    if (has_rest) fail("--net none takes no options (got '{}')", rest);
    return options;
  }
  if (head == "user") {
    options.kind = NetOptions::Kind::kUser;
  } else if (head.starts_with("tap=")) {
    options.kind = NetOptions::Kind::kTap;
    options.tap_name = std::string(head.substr(4));
    if (!valid_tap_name(options.tap_name)) {
      fail("--net: bad tap interface name '{}': 1 to {} letters, digits, '-', '_' or '.'",
           options.tap_name, IFNAMSIZ - 1);
    }
  } else {
    fail("--net: unknown network '{}': expected none, user[,hostfwd=...] or tap=NAME", head);
  }

  while (has_rest) {
    std::string_view item = rest;
    const bool more = split(rest, ',', item, rest);
    std::string_view key, value;
    if (item.empty()) fail("--net: empty option in '{}'", spec);
    if (!split(item, '=', key, value)) {
      fail("--net: option '{}' needs a value (key=value)", item);
    }
    if (key == "hostfwd" && options.kind == NetOptions::Kind::kUser) {
      options.hostfwd.push_back(parse_hostfwd(value));
    } else if (key == "mac") {
      if (options.mac) fail("--net: mac given twice");
      options.mac = parse_mac(value);
    } else if (key == "hostfwd") {
      fail("--net: hostfwd needs user networking (--net user,hostfwd=...)");
    } else {
      fail("--net: unknown option '{}' (known: {})", key,
           options.kind == NetOptions::Kind::kUser ? "hostfwd, mac" : "mac");
    }
    if (!more) break;
  }
  return options;
}

std::unique_ptr<NetBackend> open_net_backend(const NetOptions& options) {
  switch (options.kind) {
    case NetOptions::Kind::kNone: return nullptr;
    case NetOptions::Kind::kUser:
      return std::make_unique<SlirpBackend>(SlirpOptions{options.hostfwd});
    case NetOptions::Kind::kTap: return std::make_unique<TapBackend>(options.tap_name);
  }
  return nullptr;
}

}  // namespace vessel::net
