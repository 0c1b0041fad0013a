// `vessel ctl SOCKET [--vm N] COMMAND...`: the client side of the control
// socket (protocol in api/api_server.hpp).
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "api/api_server.hpp"
#include "base/error.hpp"

namespace vessel::api {

// The server answered {"ok":false}; what() is its error line.
class ServerError : public Error {
 public:
  using Error::Error;
};

// One connection to a control socket; requests on it are answered in order.
// Blocking: call() waits as long as the server takes.
class ApiClient {
 public:
  // Throws Error "cannot connect to PATH: reason".
  explicit ApiClient(const std::string& socket_path);
  ~ApiClient();

  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // Sends `request` and waits for its final line, passing each progress line
  // (the value of "progress") to `on_progress`. Returns the result fields
  // (the final line without "ok"). Throws ServerError for {"ok":false} and
  // Error when the connection breaks or the reply is not protocol.
  Json call(const Json& request, const Progress& on_progress = {});

 private:
  // The next line, without its '\n'; false at end of stream.
  bool read_line(std::string& line);

  std::string path_;
  int fd_ = -1;
  std::string buffer_;
};

// The usage line printed after a command-line error.
std::string_view ctl_usage();

// Builds the request for the command words that follow the socket path, e.g.
// {"--vm", "2", "balloon", "256M"}. Throws Error for an unknown command or a
// missing or bad argument.
Json request_from_args(const std::vector<std::string>& args);

// Runs one ctl command against `socket_path`: results on `out`, progress and
// errors on `err`. Returns the exit status: 0 success, 1 failure (cannot
// connect, the server refused, the connection broke), 2 bad command line.
int run_ctl(const std::string& socket_path, const std::vector<std::string>& args, std::ostream& out,
            std::ostream& err);

}  // namespace vessel::api
