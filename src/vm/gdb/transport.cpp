#include "vm/gdb/transport.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "base/error.hpp"

namespace vessel::gdb {

namespace {

constexpr int kSendTimeoutMs = 5000;

}  // namespace

Address parse_address(std::string_view text) {
  Address a;
  std::string_view port_text = text;
  const size_t colon = text.rfind(':');
  if (colon != std::string_view::npos) {
    const std::string_view host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host == "localhost") {
      a.host = "127.0.0.1";
    } else if (!host.empty()) {
      in_addr addr{};
      const std::string h(host);
      if (inet_pton(AF_INET, h.c_str(), &addr) != 1) {
        fail(
            "--gdb '{}': '{}' is not an IPv4 address (use [HOST:]PORT, e.g. 1234 or "
            "127.0.0.1:1234)",
            text, host);
      }
      a.host = h;
      a.loopback = (ntohl(addr.s_addr) >> 24) == 127;
    }
  }
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() ||
      port > 65535) {
    fail("--gdb '{}': '{}' is not a port (0 to 65535; use [HOST:]PORT, e.g. 1234)", text,
         port_text);
  }
  a.port = static_cast<uint16_t>(port);
  return a;
}

Listener::Listener(const Address& address) {
  fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd_.valid()) fail("--gdb: cannot make a socket: {}", std::strerror(errno));
  const int one = 1;
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(address.port);
  inet_pton(AF_INET, address.host.c_str(), &sa.sin_addr);
  if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    fail("--gdb {}:{}: cannot listen there: {}", address.host, address.port, std::strerror(errno));
  }
  if (::listen(fd_.get(), 1) != 0) {
    fail("--gdb {}:{}: cannot listen: {}", address.host, address.port, std::strerror(errno));
  }
  socklen_t len = sizeof sa;
  ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&sa), &len);
  port_ = ntohs(sa.sin_port);
}

std::optional<Connection> Listener::accept() {
  const int fd = ::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) return std::nullopt;
  // Packets are small and answered one by one: no Nagle delay.
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return Connection(UniqueFd(fd));
}

bool Connection::read_available(std::string& out) {
  if (!fd_.valid()) return false;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      if (out.size() >= 65536) return true;  // enough for now; the rest next time
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    close();  // EOF or an error
    return false;
  }
}

bool Connection::send(std::string_view data) {
  while (!data.empty() && fd_.valid()) {
    const ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_.get(), POLLOUT, 0};
      if (::poll(&p, 1, kSendTimeoutMs) > 0) continue;
    }
    close();
    return false;
  }
  return fd_.valid();
}

bool wait_readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

}  // namespace vessel::gdb
