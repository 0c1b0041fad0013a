// A host tap interface (/dev/net/tun, IFF_TAP | IFF_NO_PI): every frame the
// guest sends appears on the host interface NAME and vice versa. The host
// side (addresses, bridge, up/down) is configured outside vessel; opening a
// tap needs CAP_NET_ADMIN unless the interface was made persistent for this
// user (`ip tuntap add NAME mode tap user USER`).
#pragma once

#include <string>
#include <vector>

#include "base/log.hpp"
#include "devices/net/net_backend.hpp"

namespace vessel::net {

class TapBackend final : public NetBackend {
 public:
  // Throws Error naming the interface and the cause if it cannot be opened.
  explicit TapBackend(const std::string& name);
  ~TapBackend() override;
  TapBackend(const TapBackend&) = delete;
  TapBackend& operator=(const TapBackend&) = delete;

  const std::string& name() const { return name_; }

  void send(std::span<const uint8_t> frame) override;
  // Reads only while the device is receive_ready(): otherwise frames wait in
  // the kernel's queue (which drops when it is full).
  void prepare(PollSet& set) override;
  void dispatch(const PollSet& set) override;

 private:
  static constexpr int kFramesPerDispatch = 64;  // let other sources run
  std::string name_;
  int fd_ = -1;
  int poll_index_ = -1;
  std::vector<uint8_t> buffer_;  // one received frame
  RateLimit send_error_limit_;
};

}  // namespace vessel::net
