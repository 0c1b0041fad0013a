// The control socket: a process running VMs answers requests on a unix socket
// (`vessel ctl` is its client; the seed of a REST API).
//
// Protocol: newline-delimited JSON over SOCK_STREAM. The client sends one
// request object per line, e.g. {"cmd":"stats","vm":1}. The server answers
// each request, in order, with zero or more {"progress":{...}} lines and then
// exactly one final line: {"ok":true, ...result fields} or
// {"ok":false,"error":"one line"}. A line that is not a JSON object with a
// "cmd" string gets an error answer; a line longer than kMaxRequestLine gets
// an error answer and the connection is closed.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace vessel::api {

using Json = nlohmann::json;
// Sends one progress line; only valid while the handler call that received it
// runs. Writing to a client that has gone away is silently dropped.
using Progress = std::function<void(const Json& progress)>;
// Returns the result fields of a successful request. Throws vessel::Error for
// {"ok":false,"error":what()}; any other exception becomes
// {"ok":false,"error":"internal error: ..."}.
using Handler = std::function<Json(const Json& request, const Progress& progress)>;

inline constexpr size_t kMaxRequestLine = size_t{1} << 20;
// Each connection has a thread, so a slow request (a migration) does not
// stall other clients; the cap bounds how many threads clients can make us
// spawn. Connections beyond it get an error line and are closed.
inline constexpr size_t kMaxConnections = 8;
// Requests nested deeper than this are refused before parsing: code that
// walks a Json (dump, the handler) recurses.
inline constexpr int kMaxRequestDepth = 64;

// Serializes one protocol line (compact JSON and '\n'); invalid UTF-8 in
// strings is replaced rather than thrown.
std::string encode_line(const Json& value);

class ApiServer {
 public:
  // Binds and listens on `path` with mode 0600. A stale socket file whose
  // server is gone is replaced; a live one throws Error "PATH: another vessel
  // is listening". Serves on threads of its own: `handler` is called on a
  // connection's thread, so up to kMaxConnections calls may run at once.
  // With Start::kLater nothing is served until start(): the socket can be
  // made before the sandbox locks the process down, its threads after.
  enum class Start { kNow, kLater };
  ApiServer(std::string path, Handler handler, Start when = Start::kNow);
  // Starts serving (once; see Start::kLater). The acceptor and connection
  // threads confine themselves as sandbox::Role::kControl.
  void start();
  // Stops accepting, closes every connection and unlinks the socket file.
  // Waits for handler calls in progress to return.
  ~ApiServer();

  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  const std::string& path() const { return path_; }

 private:
  struct State;
  std::string path_;
  std::unique_ptr<State> state_;
};

}  // namespace vessel::api
