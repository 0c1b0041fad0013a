#include "api/api_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <list>
#include <mutex>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sandbox.hpp"
#include "base/unique_fd.hpp"

namespace vessel::api {
namespace {

std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

sockaddr_un socket_address(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty()) fail("control socket path is empty");
  if (path.find('\0') != std::string::npos) fail("control socket path contains a NUL byte");
  if (path.size() >= sizeof(address.sun_path)) {
    fail("{}: socket path too long (at most {} bytes)", path, sizeof(address.sun_path) - 1);
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  return address;
}

// A socket file left behind by a server that died is removed; one that still
// accepts connections belongs to a live server and is refused. Anything that
// is not a socket (a symlink too: lstat does not follow it) is someone's file
// and is left alone: vessel refuses to start rather than bind beside it.
void remove_stale_socket(const std::string& path, const sockaddr_un& address) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    fail("{}: {}", path, errno_text(errno));
  }
  if (!S_ISSOCK(st.st_mode)) fail("{}: exists and is not a socket", path);
  // Non-blocking, so a live server with a full backlog answers EAGAIN
  // instead of blocking us.
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (probe.get() < 0) fail("{}: cannot create socket: {}", path, errno_text(errno));
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0 ||
      errno == EAGAIN || errno == EINPROGRESS) {
    fail("{}: another vessel is listening", path);
  }
  if (errno != ECONNREFUSED) fail("{}: cannot check existing socket: {}", path, errno_text(errno));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    fail("{}: cannot remove stale socket: {}", path, errno_text(errno));
  }
}

// Waits until `fd` has `events` (or an error/hangup that the next read or
// write will report). False once the server is stopping.
bool wait_for(int fd, short events, int stop_fd) {
  pollfd fds[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (fds[1].revents != 0) return false;
    if (fds[0].revents != 0) return true;
  }
}

// MSG_NOSIGNAL: a client that hangs up mid-answer must cost us an EPIPE, not
// the whole process through SIGPIPE.
bool send_all(int fd, std::string_view data, int stop_fd) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_for(fd, POLLOUT, stop_fd)) return false;
    } else {
      return false;
    }
  }
  return true;
}

// Counts bracket nesting outside strings without parsing.
bool nesting_within(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

Json parse_request(std::string_view line) {
  if (!nesting_within(line, kMaxRequestDepth)) {
    fail("request nested deeper than {} levels", kMaxRequestDepth);
  }
  Json request;
  try {
    request = Json::parse(line);
  } catch (const Json::parse_error& e) {
    fail("invalid JSON request (at byte {})", e.byte);
  }
  if (!request.is_object()) fail("request is not a JSON object");
  const auto cmd = request.find("cmd");
  if (cmd == request.end() || !cmd->is_string()) fail("request has no \"cmd\" string");
  return request;
}

Json error_reply(const std::string& message) {
  return Json{{"ok", false}, {"error", one_line(message)}};
}

Json final_reply(Json result) {
  Json reply = result.is_object() ? std::move(result)
               : result.is_null() ? Json::object()
                                  : Json{{"result", std::move(result)}};
  reply["ok"] = true;
  return reply;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::strchr(" \t\r", text.back()) != nullptr) text.remove_suffix(1);
  while (!text.empty() && std::strchr(" \t\r", text.front()) != nullptr) text.remove_prefix(1);
  return text;
}

}  // namespace

std::string encode_line(const Json& value) {
  std::string line = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  line += '\n';
  return line;
}

struct ApiServer::State {
  struct Connection {
    std::thread thread;
    std::atomic<bool> finished{false};
  };

  std::string path;
  Handler handler;
  UniqueFd listener;
  // Written once by the destructor and never read, so it stays readable and
  // wakes every thread polling on it.
  UniqueFd stop;
  dev_t socket_device = 0;
  ino_t socket_inode = 0;
  // The socket's directory and name in it: the destructor removes the file
  // through them, which works inside a --jail too.
  UniqueFd directory;
  std::string name;
  std::thread acceptor;
  // Touched only by the acceptor thread.
  std::list<Connection> connections;

  void accept_loop();
  void reap_finished();
  void serve(UniqueFd connection);
  void answer(std::string_view line, const Progress& progress,
              const std::function<void(const Json&)>& write_line);
};

void ApiServer::State::reap_finished() {
  for (auto it = connections.begin(); it != connections.end();) {
    if (it->finished.load()) {
      it->thread.join();
      it = connections.erase(it);
    } else {
      ++it;
    }
  }
}

void ApiServer::State::accept_loop() {
  // Connection threads start under this filter and keep it.
  sandbox::confine_thread(sandbox::Role::kControl);
  while (wait_for(listener.get(), POLLIN, stop.get())) {
    UniqueFd connection(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (connection.get() < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // The pending connection stays queued; don't spin on it.
        spdlog::warn("{}: cannot accept: {}", path, errno_text(errno));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      continue;
    }
    reap_finished();
    if (connections.size() >= kMaxConnections) {
      const std::string refusal = encode_line(
          error_reply(fmt::format("too many connections (at most {})", kMaxConnections)));
      (void)::send(connection.get(), refusal.data(), refusal.size(), MSG_NOSIGNAL);
      continue;
    }
    Connection& entry = connections.emplace_back();
    try {
      entry.thread = std::thread([this, &entry, fd = std::move(connection)]() mutable {
        sandbox::inherit_role(sandbox::Role::kControl);
        serve(std::move(fd));
        entry.finished.store(true);
      });
    } catch (const std::system_error& e) {
      spdlog::warn("{}: cannot start a connection thread: {}", path, e.what());
      connections.pop_back();
    }
  }
  for (Connection& entry : connections) entry.thread.join();
  connections.clear();
}

void ApiServer::State::serve(UniqueFd connection) {
  std::mutex write_mutex;
  bool writable = true;
  // A handler may report progress from a thread of its own; the mutex keeps
  // lines whole.
  const auto write_line = [&](const Json& value) {
    const std::string line = encode_line(value);
    std::lock_guard lock(write_mutex);
    if (writable) writable = send_all(connection.get(), line, stop.get());
  };
  const Progress progress = [&](const Json& value) { write_line(Json{{"progress", value}}); };
  const auto is_writable = [&] {
    std::lock_guard lock(write_mutex);
    return writable;
  };

  std::string buffer;
  size_t start = 0;      // the unanswered data begins here
  size_t scan_from = 0;  // no newline before here
  char chunk[64 * 1024];
  for (;;) {
    const size_t newline = buffer.find('\n', scan_from);
    if (newline == std::string::npos) {
      buffer.erase(0, start);
      start = 0;
      scan_from = buffer.size();
      if (buffer.size() > kMaxRequestLine) {
        write_line(error_reply(fmt::format("request line longer than {} bytes", kMaxRequestLine)));
        return;
      }
      if (!wait_for(connection.get(), POLLIN, stop.get())) return;
      const ssize_t n = ::recv(connection.get(), chunk, sizeof(chunk), 0);
      if (n == 0) return;
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
        return;
      }
      buffer.append(chunk, static_cast<size_t>(n));
      continue;
    }
    const std::string_view line(buffer.data() + start, newline - start);
    start = newline + 1;
    scan_from = start;
    if (line.size() > kMaxRequestLine) {
      write_line(error_reply(fmt::format("request line longer than {} bytes", kMaxRequestLine)));
      return;
    }
    answer(line, progress, write_line);
    if (!is_writable()) return;
  }
}

void ApiServer::State::answer(std::string_view line, const Progress& progress,
                              const std::function<void(const Json&)>& write_line) {
  line = trim(line);
  if (line.empty()) return;
  Json reply;
  try {
    const Json request = parse_request(line);
    reply = final_reply(handler(request, progress));
  } catch (const Error& e) {
    reply = error_reply(e.what());
  } catch (const std::exception& e) {
    spdlog::warn("{}: request failed: {}", path, e.what());
    reply = error_reply(std::string("internal error: ") + e.what());
  } catch (...) {
    spdlog::warn("{}: request failed with an unknown exception", path);
    reply = error_reply("internal error: unknown exception");
  }
  write_line(reply);
}

ApiServer::ApiServer(std::string path, Handler handler, Start when)
    : path_(std::move(path)), state_(std::make_unique<State>()) {
  State& s = *state_;
  s.path = path_;
  s.handler = std::move(handler);
  const sockaddr_un address = socket_address(path_);
  remove_stale_socket(path_, address);

  s.listener = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (s.listener.get() < 0) fail("{}: cannot create socket: {}", path_, errno_text(errno));
  // The socket file's mode, 0600: Linux creates it with the mode of the
  // socket's inode less the umask (unix_bind), so fchmod before bind makes it
  // 0600 from its first instant. Not umask(): that is one per process, and
  // other threads (the VMs of `vessel host`) create files meanwhile. Not a
  // chmod of the path after bind either: it would follow a symlink put there
  // in between. bind itself never follows one: it creates the file or fails
  // with EADDRINUSE.
  if (::fchmod(s.listener.get(), 0600) != 0) {
    fail("{}: cannot set the socket's mode: {}", path_, errno_text(errno));
  }
  if (::bind(s.listener.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    if (errno == EADDRINUSE) fail("{}: another vessel is listening", path_);
    fail("{}: cannot bind: {}", path_, errno_text(errno));
  }
  // What bind made, checked without following anything: the destructor
  // removes this file and no other.
  struct stat st {};
  if (::lstat(path_.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    fail("{}: the socket file was replaced right after bind", path_);
  }
  if ((st.st_mode & 077) != 0) {
    ::unlink(path_.c_str());
    fail("{}: the socket file came out mode {:o}, not 0600", path_, st.st_mode & 0777);
  }
  if (::listen(s.listener.get(), 16) != 0) {
    const int err = errno;
    ::unlink(path_.c_str());
    fail("{}: cannot listen: {}", path_, errno_text(err));
  }
  s.socket_device = st.st_dev;
  s.socket_inode = st.st_ino;

  s.stop = UniqueFd(::eventfd(0, EFD_CLOEXEC));
  if (s.stop.get() < 0) {
    const int err = errno;
    ::unlink(path_.c_str());
    fail("{}: cannot create eventfd: {}", path_, errno_text(err));
  }
  const size_t slash = path_.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash + 1);
  s.name = slash == std::string::npos ? path_ : path_.substr(slash + 1);
  s.directory = UniqueFd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (when == Start::kNow) start();
}

void ApiServer::start() {
  State& s = *state_;
  if (s.acceptor.joinable()) return;
  try {
    s.acceptor = std::thread([&s] { s.accept_loop(); });
  } catch (const std::system_error& e) {
    ::unlink(path_.c_str());
    fail("{}: cannot start the server thread: {}", path_, e.what());
  }
}

ApiServer::~ApiServer() {
  State& s = *state_;
  const uint64_t one = 1;
  (void)!::write(s.stop.get(), &one, sizeof(one));
  if (s.acceptor.joinable()) s.acceptor.join();
  s.listener.reset();
  // Only our own file: another process may have replaced it meanwhile. (With
  // --user the file may stay behind, owned by root; the next vessel on the
  // path replaces it.)
  struct stat st {};
  if (s.directory.valid() &&
      ::fstatat(s.directory.get(), s.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      st.st_dev == s.socket_device && st.st_ino == s.socket_inode) {
    ::unlinkat(s.directory.get(), s.name.c_str(), 0);
  }
}

}  // namespace vessel::api
