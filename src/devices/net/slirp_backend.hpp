// User-mode networking through libslirp, like QEMU's `-netdev user`: a NATed
// private network 10.0.2.0/24 in which the guest gets 10.0.2.15 by DHCP, the
// gateway 10.0.2.2 is the host (its 127.0.0.1 services included), and
// 10.0.2.3 forwards DNS to the host's resolver. IPv6 (fec0::/64) is on as in
// QEMU. Needs no privileges; outbound connections become ordinary host
// sockets, and hostfwd rules listen on host ports for inbound ones.
//
// libslirp is single-threaded and poll-driven: prepare() asks it for the
// sockets to wait on and lowers the loop's timeout to its next timer,
// dispatch() lets it read and write them and fires due timers.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/log.hpp"
#include "devices/net/net_backend.hpp"
#include "devices/net/net_options.hpp"

struct Slirp;

namespace vessel::net {

struct SlirpOptions {
  std::vector<HostForward> hostfwd;
  bool ipv6 = true;
};

class SlirpBackend final : public NetBackend {
 public:
  // Throws Error if libslirp cannot start or a hostfwd rule cannot listen.
  explicit SlirpBackend(const SlirpOptions& options = {});
  ~SlirpBackend() override;
  SlirpBackend(const SlirpBackend&) = delete;
  SlirpBackend& operator=(const SlirpBackend&) = delete;

  void send(std::span<const uint8_t> frame) override;
  void prepare(PollSet& set) override;
  void dispatch(const PollSet& set) override;
  void release_host_ports() override;
  void retake_host_ports() override;

  // The network's fixed addresses.
  static constexpr const char* kNetwork = "10.0.2.0";
  static constexpr const char* kGateway = "10.0.2.2";
  static constexpr const char* kDns = "10.0.2.3";
  static constexpr const char* kGuest = "10.0.2.15";

 private:
  struct Timer;      // a libslirp timer
  struct Callbacks;  // the C callbacks handed to libslirp

  static int64_t now_ms();
  void fire_due_timers();
  int64_t next_deadline_ms() const;  // -1 if no timer is armed

  ::Slirp* slirp_ = nullptr;
  std::vector<HostForward> hostfwd_;
  std::vector<std::unique_ptr<Timer>> timers_;
  PollSet* filling_ = nullptr;       // the set prepare() is filling
  const PollSet* polled_ = nullptr;  // the set dispatch() is reading
  bool prepared_ = false;            // slirp_pollfds_fill ran since the last poll
  RateLimit guest_error_limit_;
};

}  // namespace vessel::net
