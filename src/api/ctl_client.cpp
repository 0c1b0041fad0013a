#include "api/ctl_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <system_error>

#include "base/sandbox.hpp"
#include "base/size.hpp"
#include "vm/migration_channel.hpp"

namespace vessel::api {
namespace {

// Replies are produced by our own server, but a stray process listening on
// the path must not make the client allocate without bound.
constexpr size_t kMaxReplyLine = size_t{64} << 20;

constexpr std::string_view kUsage =
    "usage: vessel ctl SOCKET [--vm N] stats | list | balloon SIZE | "
    "sharing on|off [--rate PAGES_PER_SEC] | snapshot DIR [--stop] | "
    "migrate HOST:PORT (--tls-psk FILE | --tls-cert FILE --tls-key FILE --tls-ca FILE | "
    "--insecure) [--max-downtime MS] | record start DIR | record stop | attest [NONCE] | pause | "
    "resume | quit";

std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

std::string dump(const Json& value, int indent = -1) {
  return value.dump(indent, ' ', false, Json::error_handler_t::replace);
}

// A whole-string decimal number in [min, max], or nullopt.
std::optional<uint64_t> parse_number(std::string_view text, uint64_t min, uint64_t max) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < min || value > max) {
    return std::nullopt;
  }
  return value;
}

// A command's words split into positionals and the options it accepts.
struct CommandWords {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;  // --name VALUE or --name=VALUE
  std::set<std::string> flags;                // --name
};

CommandWords split_words(const std::string& command, const std::vector<std::string>& words,
                         const std::set<std::string>& value_options,
                         const std::set<std::string>& flag_options) {
  CommandWords result;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (!word.starts_with("--")) {
      result.positional.push_back(word);
      continue;
    }
    const size_t equals = word.find('=');
    const std::string name = word.substr(0, equals);
    if (value_options.contains(name)) {
      if (result.values.contains(name)) fail("{}: {} given twice", command, name);
      if (equals != std::string::npos) {
        result.values[name] = word.substr(equals + 1);
      } else if (i + 1 < words.size()) {
        result.values[name] = words[++i];
      } else {
        fail("{}: {} needs a value", command, name);
      }
    } else if (flag_options.contains(name) && equals == std::string::npos) {
      result.flags.insert(name);
    } else {
      fail("{}: unknown option '{}'", command, word);
    }
  }
  return result;
}

void expect_positionals(const std::string& command, const CommandWords& words,
                        const std::vector<std::string_view>& names) {
  if (words.positional.size() < names.size()) {
    fail("{}: missing {}", command, names[words.positional.size()]);
  }
  if (words.positional.size() > names.size()) {
    fail("{}: unexpected argument '{}'", command, words.positional[names.size()]);
  }
}

uint64_t option_number(const std::string& command, const CommandWords& words,
                       const std::string& name, uint64_t min, uint64_t max) {
  const std::string& text = words.values.at(name);
  const auto value = parse_number(text, min, max);
  if (!value) fail("{}: {} wants a number from {} to {}, got '{}'", command, name, min, max, text);
  return *value;
}

std::string checked_host_port(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 ||
      !parse_number(std::string_view(text).substr(colon + 1), 1, 65535)) {
    fail("migrate: expected HOST:PORT (port 1 to 65535), got '{}'", text);
  }
  return text;
}

std::string absolute_dir(const std::string& dir, const char* command = "snapshot") {
  if (dir.empty()) fail("{}: DIR is empty", command);
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(dir, ec);
  if (ec) fail("{}: {}: {}", command, dir, ec.message());
  return absolute.lexically_normal().string();
}

// ctl migrate's TLS options: this client reads the key or certificate files
// (as the user running it, relative to its directory) and sends what they
// hold over the control socket (mode 0600), so the VM process opens no file
// a request names.
void migrate_security(const CommandWords& w, Json& request) {
  MigrationSecurityFiles files;
  for (const auto& [name, file] :
       {std::pair{"--tls-psk", &files.psk}, std::pair{"--tls-cert", &files.cert},
        std::pair{"--tls-key", &files.key}, std::pair{"--tls-ca", &files.ca}}) {
    const auto it = w.values.find(name);
    if (it == w.values.end()) continue;
    if (it->second.empty()) fail("migrate: {} needs a file name", name);
    *file = it->second;
  }
  files.insecure = w.flags.contains("--insecure");
  migration_security_to_request(load_migration_security(files, "migrate"), request);
}

// One human line for a progress report: its "message" if it has one, else
// every field as key=value.
std::string describe_progress(const std::string& command, const Json& progress) {
  std::string line = command + ":";
  if (!progress.is_object()) return line + " " + dump(progress);
  if (const auto message = progress.find("message");
      message != progress.end() && message->is_string()) {
    return line + " " + message->get<std::string>();
  }
  for (const auto& [key, value] : progress.items()) {
    line += " " + key + "=" + (value.is_string() ? value.get<std::string>() : dump(value));
  }
  return line;
}

}  // namespace

ApiClient::ApiClient(const std::string& socket_path) : path_(socket_path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.find('\0') != std::string::npos) {
    fail("cannot connect to '{}': not a socket path", socket_path);
  }
  if (socket_path.size() >= sizeof(address.sun_path)) {
    fail("cannot connect to {}: {}", socket_path, errno_text(ENAMETOOLONG));
  }
  std::memcpy(address.sun_path, socket_path.data(), socket_path.size());
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) fail("cannot connect to {}: {}", socket_path, errno_text(errno));
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    fail("cannot connect to {}: {}", socket_path, errno_text(err));
  }
}

ApiClient::~ApiClient() {
  if (fd_ >= 0) ::close(fd_);
}

bool ApiClient::read_line(std::string& line) {
  size_t scan_from = 0;
  char chunk[64 * 1024];
  for (;;) {
    const size_t newline = buffer_.find('\n', scan_from);
    if (newline != std::string::npos) {
      line.assign(buffer_, 0, newline);
      buffer_.erase(0, newline + 1);
      return true;
    }
    scan_from = buffer_.size();
    if (buffer_.size() > kMaxReplyLine)
      fail("reply from {} longer than {} bytes", path_, kMaxReplyLine);
    const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      // End of stream, or ECONNRESET from a server that closed with our
      // request unread: either way no more lines.
      return false;
    }
  }
}

Json ApiClient::call(const Json& request, const Progress& on_progress) {
  // A failed send is not reported yet: a server that refused us (too many
  // connections) has already written why, and reading finds it.
  const std::string line = encode_line(request);
  std::string_view pending(line);
  while (!pending.empty()) {
    const ssize_t n = ::send(fd_, pending.data(), pending.size(), MSG_NOSIGNAL);
    if (n > 0) {
      pending.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  std::string text;
  for (;;) {
    if (!read_line(text)) fail("{} closed the connection before answering", path_);
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json reply = Json::parse(text, nullptr, false);
    if (reply.is_discarded() || !reply.is_object()) {
      fail("bad reply from {}: not a JSON object", path_);
    }
    const auto ok = reply.find("ok");
    if (ok == reply.end()) {
      const auto progress = reply.find("progress");
      if (progress == reply.end())
        fail("bad reply from {}: neither \"ok\" nor \"progress\"", path_);
      if (on_progress) on_progress(*progress);
      continue;
    }
    if (!ok->is_boolean()) fail("bad reply from {}: \"ok\" is not a boolean", path_);
    if (!ok->get<bool>()) {
      const auto error = reply.find("error");
      if (error == reply.end() || !error->is_string()) {
        throw ServerError("the server reported an error without a message");
      }
      throw ServerError(one_line(error->get<std::string>()));
    }
    reply.erase("ok");
    return reply;
  }
}

std::string_view ctl_usage() {
  return kUsage;
}

Json request_from_args(const std::vector<std::string>& args) {
  size_t i = 0;
  std::optional<uint64_t> vm;
  while (i < args.size() && args[i].starts_with("--")) {
    std::string text;
    if (args[i] == "--vm") {
      if (i + 1 >= args.size()) fail("--vm needs a VM number");
      text = args[i + 1];
      i += 2;
    } else if (args[i].starts_with("--vm=")) {
      text = args[i].substr(5);
      i += 1;
    } else {
      fail("unknown option '{}'", args[i]);
    }
    if (vm) fail("--vm given twice");
    vm = parse_number(text, 0, UINT32_MAX);
    if (!vm) fail("--vm wants a VM number, got '{}'", text);
  }
  if (i == args.size()) fail("no command given");
  const std::string& command = args[i];
  const std::vector<std::string> words(args.begin() + static_cast<ptrdiff_t>(i) + 1, args.end());

  Json request = {{"cmd", command}};
  if (command == "stats" || command == "list" || command == "pause" || command == "resume" ||
      command == "quit") {
    expect_positionals(command, split_words(command, words, {}, {}), {});
  } else if (command == "balloon") {
    const CommandWords w = split_words(command, words, {}, {});
    expect_positionals(command, w, {"SIZE"});
    const auto bytes = parse_size(w.positional[0]);
    if (!bytes) fail("balloon: bad size '{}' (e.g. 256M, 1G, 0)", w.positional[0]);
    request["bytes"] = *bytes;
  } else if (command == "sharing") {
    const CommandWords w = split_words(command, words, {"--rate"}, {});
    expect_positionals(command, w, {"on or off"});
    const std::string& state = w.positional[0];
    if (state != "on" && state != "off") fail("sharing: expected on or off, got '{}'", state);
    request["enabled"] = state == "on";
    if (w.values.contains("--rate")) {
      request["pages_per_second"] = option_number(command, w, "--rate", 1, UINT32_MAX);
    }
  } else if (command == "snapshot") {
    const CommandWords w = split_words(command, words, {}, {"--stop"});
    expect_positionals(command, w, {"DIR"});
    request["dir"] = absolute_dir(w.positional[0]);
    request["stop"] = w.flags.contains("--stop");
  } else if (command == "migrate") {
    const CommandWords w = split_words(
        command, words, {"--max-downtime", "--tls-psk", "--tls-cert", "--tls-key", "--tls-ca"},
        {"--insecure"});
    expect_positionals(command, w, {"HOST:PORT"});
    request["to"] = checked_host_port(w.positional[0]);
    request["max_downtime_ms"] = w.values.contains("--max-downtime")
                                     ? option_number(command, w, "--max-downtime", 1, 3'600'000)
                                     : 50;
    migrate_security(w, request);
  } else if (command == "record") {
    // record start DIR | record stop (vm/record_replay.hpp)
    const CommandWords w = split_words(command, words, {}, {});
    if (w.positional.empty()) fail("record: expected start DIR or stop");
    const std::string& what = w.positional[0];
    if (what == "start") {
      if (w.positional.size() != 2) fail("record start: expected one DIR");
      request["dir"] = absolute_dir(w.positional[1], "record start");
    } else if (what == "stop") {
      if (w.positional.size() != 1) fail("record stop: unexpected argument '{}'", w.positional[1]);
    } else {
      fail("record: expected start DIR or stop, got '{}'", what);
    }
    request["action"] = what;
  } else if (command == "attest") {
    const CommandWords w = split_words(command, words, {}, {});
    if (w.positional.size() > 1) fail("attest: unexpected argument '{}'", w.positional[1]);
    if (!w.positional.empty()) request["nonce"] = w.positional[0];
  } else {
    fail("unknown command '{}'", command);
  }
  if (vm) request["vm"] = *vm;
  return request;
}

int run_ctl(const std::string& socket_path, const std::vector<std::string>& args, std::ostream& out,
            std::ostream& err) {
  if (args.size() == 1 && (args[0] == "help" || args[0] == "--help" || args[0] == "-h")) {
    out << kUsage << '\n';
    return 0;
  }
  Json request;
  try {
    request = request_from_args(args);
  } catch (const Error& e) {
    err << "vessel ctl: " << one_line(e.what()) << '\n' << kUsage << '\n';
    return 2;
  }
  const std::string command = request["cmd"].get<std::string>();
  try {
    ApiClient client(socket_path);
    // Connected, every file a request names read: what is left is to parse
    // what the socket sends back, which may be anything (base/sandbox.hpp;
    // nothing happens unless the command line turned the sandbox on).
    sandbox::confine_thread(sandbox::Role::kClient);
    const Json result = client.call(request, [&](const Json& progress) {
      err << describe_progress(command, progress) << '\n' << std::flush;
    });
    if (command == "stats" || command == "list") {
      out << dump(result, 2) << '\n';
    } else if (const auto message = result.find("message");
               message != result.end() && message->is_string()) {
      out << message->get<std::string>() << '\n';
    } else {
      out << dump(result) << '\n';
    }
    return 0;
  } catch (const std::exception& e) {
    err << "vessel ctl: " << one_line(e.what()) << '\n';
    return 1;
  }
}

}  // namespace vessel::api
