#include "devices/net/tap_backend.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include "base/error.hpp"
#include "base/preopen.hpp"

namespace vessel::net {

TapBackend::TapBackend(const std::string& name) : name_(name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    fail("--net tap={}: an interface name is 1 to {} characters", name, IFNAMSIZ - 1);
  }
  // `vessel receive` opened and attached it before locking itself down
  // (base/preopen.hpp).
  fd_ = preopen::take(preopen::tap_key(name)).release();
  if (fd_ >= 0) return;
  fd_ = preopen::take(preopen::kTunKey).release();
  if (fd_ < 0) fd_ = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) fail("--net tap={}: cannot open /dev/net/tun: {}", name, std::strerror(errno));
  ifreq request{};
  request.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::memcpy(request.ifr_name, name.data(), name.size());  // checked above: fits with its NUL
  if (::ioctl(fd_, TUNSETIFF, &request) < 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    fail("--net tap={}: cannot attach to the tap interface: {}{}", name, std::strerror(err),
         err == EPERM ? " (needs CAP_NET_ADMIN or a persistent tap owned by this user)" : "");
  }
}

TapBackend::~TapBackend() {
  if (fd_ >= 0) ::close(fd_);
}

void TapBackend::send(std::span<const uint8_t> frame) {
  if (frame.size() < kMinFrameBytes || frame.size() > kMaxFrameBytes) return;
  for (;;) {
    const ssize_t n = ::write(fd_, frame.data(), frame.size());
    if (n >= 0) return;
    if (errno == EINTR) continue;
    // EAGAIN (the kernel's queue is full) or the interface is down: drop.
    if (errno != EAGAIN && send_error_limit_.allow()) {
      spdlog::warn("net tap {}: dropping a frame: {}", name_, std::strerror(errno));
    }
    return;
  }
}

void TapBackend::prepare(PollSet& set) {
  poll_index_ = receive_ready() ? set.add(fd_, POLLIN) : -1;
}

void TapBackend::dispatch(const PollSet& set) {
  if (poll_index_ < 0 || (set.revents(poll_index_) & POLLIN) == 0) return;
  poll_index_ = -1;
  // One frame per read(); a tap never returns more than the interface MTU
  // plus the Ethernet header, but a buffer of the largest frame is safe for
  // any MTU.
  buffer_.resize(kMaxFrameBytes);
  for (int i = 0; i < kFramesPerDispatch && receive_ready(); ++i) {
    const ssize_t n = ::read(fd_, buffer_.data(), buffer_.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // EAGAIN: drained
    deliver({buffer_.data(), static_cast<size_t>(n)});
  }
}

}  // namespace vessel::net
