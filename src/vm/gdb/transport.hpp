// The stub's TCP side: where it listens (`--gdb [HOST:]PORT`), the listening
// socket (opened before the sandbox locks vessel down), and one client
// connection with non-blocking reads and bounded-time writes, so that a
// client that stops reading cannot hang the VM.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/unique_fd.hpp"

namespace vessel::gdb {

struct Address {
  std::string host = "127.0.0.1";  // a numeric IPv4 address
  uint16_t port = 0;               // 0: any free port (printed when listening)
  bool loopback = true;
};

// "PORT", ":PORT" or "HOST:PORT" (HOST an IPv4 address or `localhost`).
// Throws Error with one line on anything else.
Address parse_address(std::string_view text);

class Connection {
 public:
  Connection() = default;
  explicit Connection(UniqueFd fd) : fd_(std::move(fd)) {}
  bool open() const { return fd_.valid(); }
  int fd() const { return fd_.get(); }
  // What arrived, without waiting; false once the client has gone (the
  // connection is then closed).
  bool read_available(std::string& out);
  // Sends all of `data`, waiting at most a few seconds for the client to
  // take it; false (and the connection closed) if it does not.
  bool send(std::string_view data);
  void close() { fd_.reset(); }

 private:
  UniqueFd fd_;
};

class Listener {
 public:
  // Binds and listens; throws Error with one line (address in use, ...).
  explicit Listener(const Address& address);
  uint16_t port() const { return port_; }
  int fd() const { return fd_.get(); }
  // A waiting client, if there is one (never blocks).
  std::optional<Connection> accept();

 private:
  UniqueFd fd_;
  uint16_t port_ = 0;
};

// Waits up to `timeout_ms` for `fd` to be readable; true if it is.
bool wait_readable(int fd, int timeout_ms);

}  // namespace vessel::gdb
