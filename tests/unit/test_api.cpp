#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "api/api_server.hpp"
#include "api/ctl_client.hpp"
#include "base/error.hpp"
#include "temp_dir.hpp"

namespace vessel::api {
namespace {

using namespace std::chrono_literals;

using test::TempDir;

sockaddr_un address_of(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  return address;
}

// A client speaking the protocol by hand, to send what ApiClient never would.
class RawClient {
 public:
  explicit RawClient(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const sockaddr_un address = address_of(path);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
      throw std::runtime_error("connect failed");
    }
  }
  ~RawClient() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Send errors are ignored: the server may rightly hang up midway.
  void send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      data.remove_prefix(static_cast<size_t>(n));
    }
  }
  // The next line; nullopt at end of stream. Gives up after 10 s so a broken
  // server fails the test instead of hanging it.
  std::optional<std::string> read_line() {
    for (;;) {
      const size_t newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return line;
      }
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, 10'000) != 1) throw std::runtime_error("timed out waiting for a line");
      char chunk[4096];
      const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }
  Json read_json() {
    const auto line = read_line();
    if (!line) throw std::runtime_error("connection closed");
    return Json::parse(*line);
  }

 private:
  int fd_ = -1;
  std::string buffer_;
};

// A handler with one command per behaviour under test. "slow" blocks until
// the test releases it, then reports progress to a client that may be gone.
class ApiServerTest : public ::testing::Test {
 protected:
  Json handle(const Json& request, const Progress& progress) {
    const std::string cmd = request.at("cmd");
    if (cmd == "echo") return Json{{"echo", request}};
    if (cmd == "progress3") {
      for (int round = 1; round <= 3; ++round) progress(Json{{"round", round}});
      return Json{{"message", "done"}};
    }
    if (cmd == "fail") throw Error("no such VM");
    if (cmd == "crash") throw std::runtime_error("boom");
    if (cmd == "slow") {
      slow_entered.set_value();
      release.get_future().wait();
      for (int i = 0; i < 100; ++i) progress(Json{{"i", i}});
      slow_finished.set_value();
      return Json::object();
    }
    throw Error("unknown command");
  }

  std::unique_ptr<ApiServer> start(const std::string& path) {
    return std::make_unique<ApiServer>(path, [this](const Json& request, const Progress& progress) {
      return handle(request, progress);
    });
  }

  TempDir dir;
  std::string path = dir.file("api.sock");
  std::promise<void> slow_entered;
  std::promise<void> release;
  std::promise<void> slow_finished;
};

TEST_F(ApiServerTest, EchoThroughClient) {
  auto server = start(path);
  EXPECT_EQ(server->path(), path);
  ApiClient client(path);
  const Json request = {{"cmd", "echo"}, {"vm", 1}};
  EXPECT_EQ(client.call(request), (Json{{"echo", request}}));
  // A second request on the same connection.
  EXPECT_EQ(client.call(Json{{"cmd", "echo"}}), (Json{{"echo", {{"cmd", "echo"}}}}));
}

TEST_F(ApiServerTest, ProgressLinesPrecedeTheFinalLine) {
  auto server = start(path);
  RawClient raw(path);
  raw.send("{\"cmd\":\"progress3\"}\n");
  for (int round = 1; round <= 3; ++round) {
    EXPECT_EQ(raw.read_json(), (Json{{"progress", {{"round", round}}}}));
  }
  EXPECT_EQ(raw.read_json(), (Json{{"ok", true}, {"message", "done"}}));

  ApiClient client(path);
  std::vector<Json> seen;
  const Json result =
      client.call(Json{{"cmd", "progress3"}}, [&](const Json& p) { seen.push_back(p); });
  EXPECT_EQ(result, (Json{{"message", "done"}}));
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[2], (Json{{"round", 3}}));
}

TEST_F(ApiServerTest, HandlerErrorsBecomeErrorLines) {
  auto server = start(path);
  RawClient raw(path);
  raw.send("{\"cmd\":\"fail\"}\n{\"cmd\":\"crash\"}\n");
  EXPECT_EQ(raw.read_json(), (Json{{"ok", false}, {"error", "no such VM"}}));
  EXPECT_EQ(raw.read_json(), (Json{{"ok", false}, {"error", "internal error: boom"}}));

  ApiClient client(path);
  try {
    client.call(Json{{"cmd", "fail"}});
    FAIL() << "expected ServerError";
  } catch (const ServerError& e) {
    EXPECT_STREQ(e.what(), "no such VM");
  }
  EXPECT_EQ(client.call(Json{{"cmd", "echo"}})["echo"]["cmd"], "echo");
}

TEST_F(ApiServerTest, MalformedLinesGetErrorsAndTheConnectionContinues) {
  auto server = start(path);
  RawClient raw(path);
  const std::string deep(100'000, '[');
  raw.send("garbage\n[1,2]\n{\"vm\":1}\n{\"cmd\":7}\n\n" + deep + "\n{\"cmd\":\"echo\"}\r\n");
  for (const char* expected :
       {"invalid JSON", "not a JSON object", "no \"cmd\"", "no \"cmd\"", "nested deeper"}) {
    const Json reply = raw.read_json();
    EXPECT_EQ(reply["ok"], false);
    EXPECT_NE(reply["error"].get<std::string>().find(expected), std::string::npos)
        << expected << " in " << reply.dump();
  }
  // The blank line got no answer; the echo did.
  EXPECT_EQ(raw.read_json(), (Json{{"ok", true}, {"echo", {{"cmd", "echo"}}}}));
}

TEST_F(ApiServerTest, OverlongLineClosesOnlyThatConnection) {
  auto server = start(path);
  RawClient raw(path);
  raw.send(std::string(kMaxRequestLine + 1, 'x'));
  const Json reply = raw.read_json();
  EXPECT_EQ(reply["ok"], false);
  EXPECT_NE(reply["error"].get<std::string>().find("longer than"), std::string::npos);
  EXPECT_EQ(raw.read_line(), std::nullopt);

  ApiClient client(path);
  EXPECT_EQ(client.call(Json{{"cmd", "echo"}})["echo"]["cmd"], "echo");
}

TEST_F(ApiServerTest, OverlongLineWithNewlineIsRefusedToo) {
  auto server = start(path);
  RawClient raw(path);
  raw.send("{\"cmd\":\"echo\",\"pad\":\"" + std::string(kMaxRequestLine, 'x') + "\"}\n");
  EXPECT_EQ(raw.read_json()["ok"], false);
  EXPECT_EQ(raw.read_line(), std::nullopt);
}

// Without MSG_NOSIGNAL the progress writes after the hang-up raise SIGPIPE
// and kill the test binary.
TEST_F(ApiServerTest, ClientHangingUpMidRequestDoesNotKillTheServer) {
  auto server = start(path);
  {
    RawClient raw(path);
    raw.send("{\"cmd\":\"slow\"}\n");
    ASSERT_EQ(slow_entered.get_future().wait_for(10s), std::future_status::ready);
  }
  release.set_value();
  ASSERT_EQ(slow_finished.get_future().wait_for(10s), std::future_status::ready);
  ApiClient client(path);
  EXPECT_EQ(client.call(Json{{"cmd", "echo"}})["echo"]["cmd"], "echo");
}

TEST_F(ApiServerTest, BusyConnectionDoesNotBlockAnother) {
  auto server = start(path);
  RawClient busy(path);
  busy.send("{\"cmd\":\"slow\"}\n");
  ASSERT_EQ(slow_entered.get_future().wait_for(10s), std::future_status::ready);
  ApiClient client(path);
  EXPECT_EQ(client.call(Json{{"cmd", "echo"}})["echo"]["cmd"], "echo");
  release.set_value();
  for (int i = 0; i < 100; ++i) EXPECT_EQ(busy.read_json()["progress"]["i"], i);
  EXPECT_EQ(busy.read_json(), (Json{{"ok", true}}));
}

TEST_F(ApiServerTest, ConnectionsBeyondTheCapAreRefused) {
  auto server = start(path);
  std::vector<std::unique_ptr<RawClient>> idle;
  for (size_t i = 0; i < kMaxConnections; ++i) {
    idle.push_back(std::make_unique<RawClient>(path));
    // Answered, so the server has accepted this one before the next.
    idle.back()->send("{\"cmd\":\"echo\"}\n");
    EXPECT_EQ(idle.back()->read_json()["ok"], true);
  }
  RawClient refused(path);
  const Json reply = refused.read_json();
  EXPECT_EQ(reply["ok"], false);
  EXPECT_NE(reply["error"].get<std::string>().find("too many connections"), std::string::npos);

  // A slot frees once a client leaves; the server notices asynchronously.
  idle.pop_back();
  bool served = false;
  for (int attempt = 0; attempt < 200 && !served; ++attempt) {
    RawClient retry(path);
    retry.send("{\"cmd\":\"echo\"}\n");
    served = retry.read_json()["ok"] == true;
    if (!served) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(served);
}

TEST_F(ApiServerTest, SocketFileIsPrivateAndRemovedOnDestruction) {
  auto server = start(path);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // An idle client must not keep the destructor waiting, and sees the close.
  RawClient idle(path);
  idle.send("{\"cmd\":\"echo\"}\n");
  EXPECT_EQ(idle.read_json()["ok"], true);
  server.reset();
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(idle.read_line(), std::nullopt);
}

TEST_F(ApiServerTest, StaleSocketFileIsReplaced) {
  {
    // Bound and closed without unlinking: what a crashed server leaves.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    const sockaddr_un address = address_of(path);
    ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0);
    ::close(fd);
  }
  ASSERT_TRUE(std::filesystem::exists(path));
  auto server = start(path);
  ApiClient client(path);
  EXPECT_EQ(client.call(Json{{"cmd", "echo"}})["echo"]["cmd"], "echo");
}

TEST_F(ApiServerTest, LiveSocketIsRefused) {
  auto first = start(path);
  try {
    start(path);
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": another vessel is listening");
  }
  ApiClient client(path);
  EXPECT_EQ(client.call(Json{{"cmd", "echo"}})["echo"]["cmd"], "echo");
}

TEST_F(ApiServerTest, OtherFilesAreLeftAlone) {
  std::ofstream(path) << "precious";
  EXPECT_THROW(start(path), Error);
  std::ifstream in(path);
  std::string content;
  in >> content;
  EXPECT_EQ(content, "precious");
  EXPECT_THROW(start(dir.file(std::string(200, 'a'))), Error);
}

TEST(RequestFromArgs, EveryCommand) {
  using Args = std::vector<std::string>;
  EXPECT_EQ(request_from_args(Args{"stats"}), (Json{{"cmd", "stats"}}));
  EXPECT_EQ(request_from_args(Args{"--vm", "1", "stats"}), (Json{{"cmd", "stats"}, {"vm", 1}}));
  EXPECT_EQ(request_from_args(Args{"--vm=3", "list"}), (Json{{"cmd", "list"}, {"vm", 3}}));
  EXPECT_EQ(request_from_args(Args{"balloon", "256M"}),
            (Json{{"cmd", "balloon"}, {"bytes", 256u << 20}}));
  EXPECT_EQ(request_from_args(Args{"balloon", "0"}), (Json{{"cmd", "balloon"}, {"bytes", 0}}));
  EXPECT_EQ(request_from_args(Args{"sharing", "on"}),
            (Json{{"cmd", "sharing"}, {"enabled", true}}));
  EXPECT_EQ(request_from_args(Args{"sharing", "off", "--rate", "500"}),
            (Json{{"cmd", "sharing"}, {"enabled", false}, {"pages_per_second", 500}}));
  EXPECT_EQ(request_from_args(Args{"sharing", "--rate=20", "on"}),
            (Json{{"cmd", "sharing"}, {"enabled", true}, {"pages_per_second", 20}}));
  EXPECT_EQ(request_from_args(Args{"snapshot", "/var/snap/../snaps/a"}),
            (Json{{"cmd", "snapshot"}, {"dir", "/var/snaps/a"}, {"stop", false}}));
  const Json relative = request_from_args(Args{"snapshot", "snap", "--stop"});
  EXPECT_EQ(relative["dir"], (std::filesystem::current_path() / "snap").string());
  EXPECT_EQ(relative["stop"], true);
  EXPECT_EQ(request_from_args(Args{"migrate", "10.0.0.2:4444", "--insecure"}),
            (Json{{"cmd", "migrate"},
                  {"to", "10.0.0.2:4444"},
                  {"max_downtime_ms", 50},
                  {"insecure", true}}));
  EXPECT_EQ(
      request_from_args(Args{"--vm", "0", "migrate", "h:1", "--max-downtime", "300", "--insecure"}),
      (Json{{"cmd", "migrate"},
            {"to", "h:1"},
            {"max_downtime_ms", 300},
            {"insecure", true},
            {"vm", 0}}));
  // The client reads the key file and sends what it holds: the VM opens no
  // file a request names.
  TempDir dir;
  const std::string key = "0123456789abcdef0123456789abcdef";
  std::ofstream(dir.file("key.psk")) << "host-a:" << key << "\n";
  EXPECT_EQ(request_from_args(Args{"migrate", "h:1", "--tls-psk", dir.file("key.psk")}),
            (Json{{"cmd", "migrate"},
                  {"to", "h:1"},
                  {"max_downtime_ms", 50},
                  {"tls_psk", "host-a:" + key}}));
  for (const char* cmd : {"pause", "resume", "quit"}) {
    EXPECT_EQ(request_from_args(Args{cmd}), (Json{{"cmd", cmd}}));
  }
  EXPECT_EQ(request_from_args(Args{"attest"}), (Json{{"cmd", "attest"}}));
  EXPECT_EQ(request_from_args(Args{"--vm", "1", "attest", "f00d"}),
            (Json{{"cmd", "attest"}, {"nonce", "f00d"}, {"vm", 1}}));
}

TEST(RequestFromArgs, BadArguments) {
  using Args = std::vector<std::string>;
  const std::vector<std::pair<Args, std::string>> cases = {
      {{}, "no command"},
      {{"frobnicate"}, "unknown command 'frobnicate'"},
      {{"--vm", "x", "stats"}, "--vm wants a VM number, got 'x'"},
      {{"--vm", "-1", "stats"}, "--vm wants"},
      {{"--vm"}, "--vm needs"},
      {{"--vm", "1", "--vm", "2", "stats"}, "twice"},
      {{"--verbose", "stats"}, "unknown option '--verbose'"},
      {{"stats", "extra"}, "unexpected argument 'extra'"},
      {{"pause", "--now"}, "unknown option '--now'"},
      {{"balloon"}, "missing SIZE"},
      {{"balloon", "abc"}, "bad size 'abc'"},
      {{"balloon", "1G", "2G"}, "unexpected argument '2G'"},
      {{"sharing"}, "missing on or off"},
      {{"sharing", "maybe"}, "expected on or off"},
      {{"sharing", "on", "--rate"}, "--rate needs a value"},
      {{"sharing", "on", "--rate", "fast"}, "--rate wants a number"},
      {{"sharing", "on", "--rate", "0"}, "--rate wants a number"},
      {{"sharing", "on", "--rate", "1", "--rate", "2"}, "twice"},
      {{"snapshot"}, "missing DIR"},
      {{"snapshot", ""}, "DIR is empty"},
      {{"snapshot", "d", "--stop=yes"}, "unknown option"},
      {{"migrate"}, "missing HOST:PORT"},
      {{"migrate", "nohostport"}, "expected HOST:PORT"},
      {{"migrate", ":4444"}, "expected HOST:PORT"},
      {{"migrate", "h:"}, "expected HOST:PORT"},
      {{"migrate", "h:70000"}, "expected HOST:PORT"},
      {{"migrate", "h:1", "--max-downtime", "-5"}, "--max-downtime wants a number"},
      {{"migrate", "h:1"}, "migrate: the migration stream needs --tls-psk FILE"},
      {{"migrate", "h:1", "--tls-psk"}, "--tls-psk needs a value"},
      {{"migrate", "h:1", "--tls-psk", ""}, "--tls-psk needs a file name"},
      {{"migrate", "h:1", "--tls-psk", "/nonexistent/k"}, "/nonexistent/k: No such file"},
      {{"migrate", "h:1", "--tls-psk", "k", "--insecure"}, "--insecure turns TLS off"},
      {{"migrate", "h:1", "--tls-cert", "c"}, "--tls-key is missing"},
      {{"attest", "a", "b"}, "unexpected argument 'b'"},
      {{"attest", "--nonce", "a"}, "unknown option '--nonce'"},
  };
  for (const auto& [args, expected] : cases) {
    try {
      request_from_args(args);
      ADD_FAILURE() << "accepted: " << ::testing::PrintToString(args);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos)
          << e.what() << " lacks " << expected;
    }
  }
}

// A server standing in for a VM process: it records what ctl sent.
class RunCtlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server =
        std::make_unique<ApiServer>(path, [this](const Json& request, const Progress& progress) {
          last_request = request;
          const std::string cmd = request.at("cmd");
          if (cmd == "stats") return Json{{"vms", {{{"id", 1}, {"instructions", 42}}}}};
          if (cmd == "balloon") return Json{{"message", "balloon target set"}};
          if (cmd == "migrate") {
            progress(Json{{"round", 1}, {"dirty_pages", 1200}});
            progress(Json{{"message", "switching over"}});
            return Json{{"message", "migrated"}};
          }
          if (cmd == "pause") return Json{{"paused", true}};
          throw Error(fmt::format("{} refused", cmd));
        });
  }

  int run(const std::vector<std::string>& args) {
    out.str("");
    err.str("");
    return run_ctl(path, args, out, err);
  }

  TempDir dir;
  std::string path = dir.file("ctl.sock");
  std::unique_ptr<ApiServer> server;
  Json last_request;
  std::ostringstream out;
  std::ostringstream err;
};

TEST_F(RunCtlTest, StatsPrintsPrettyJson) {
  EXPECT_EQ(run({"--vm", "1", "stats"}), 0);
  EXPECT_EQ(last_request, (Json{{"cmd", "stats"}, {"vm", 1}}));
  EXPECT_EQ(
      out.str(),
      "{\n  \"vms\": [\n    {\n      \"id\": 1,\n      \"instructions\": 42\n    }\n  ]\n}\n");
  EXPECT_EQ(err.str(), "");
}

TEST_F(RunCtlTest, CommandsPrintTheirMessageElseCompactJson) {
  EXPECT_EQ(run({"balloon", "1G"}), 0);
  EXPECT_EQ(last_request["bytes"], uint64_t{1} << 30);
  EXPECT_EQ(out.str(), "balloon target set\n");
  EXPECT_EQ(run({"pause"}), 0);
  EXPECT_EQ(out.str(), "{\"paused\":true}\n");
}

TEST_F(RunCtlTest, MigrateProgressGoesToErr) {
  EXPECT_EQ(run({"migrate", "localhost:4444", "--max-downtime", "20", "--insecure"}), 0);
  EXPECT_EQ(last_request["max_downtime_ms"], 20);
  EXPECT_EQ(out.str(), "migrated\n");
  EXPECT_EQ(err.str(), "migrate: dirty_pages=1200 round=1\nmigrate: switching over\n");
}

TEST_F(RunCtlTest, ServerErrorExitsOne) {
  EXPECT_EQ(run({"quit"}), 1);
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(err.str(), "vessel ctl: quit refused\n");
}

TEST_F(RunCtlTest, BadCommandLineExitsTwoWithUsage) {
  EXPECT_EQ(run({"balloon", "abc"}), 2);
  EXPECT_EQ(err.str(), "vessel ctl: balloon: bad size 'abc' (e.g. 256M, 1G, 0)\n" +
                           std::string(ctl_usage()) + "\n");
  EXPECT_TRUE(last_request.is_null());  // nothing was sent
  EXPECT_EQ(run({"--help"}), 0);
  EXPECT_EQ(out.str(), std::string(ctl_usage()) + "\n");
}

TEST_F(RunCtlTest, MissingSocketExitsOne) {
  const std::string missing = dir.file("nope.sock");
  out.str("");
  err.str("");
  EXPECT_EQ(run_ctl(missing, {"stats"}, out, err), 1);
  EXPECT_EQ(err.str(),
            "vessel ctl: cannot connect to " + missing + ": No such file or directory\n");
}

TEST_F(RunCtlTest, ServerHangingUpWithoutAnswerExitsOne) {
  server.reset();
  // Accepts one connection, reads the request, reports progress, hangs up.
  const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const sockaddr_un address = address_of(path);
  ASSERT_EQ(::bind(listener, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  std::thread rude([listener] {
    const int fd = ::accept(listener, nullptr, nullptr);
    char c = 0;
    while (::recv(fd, &c, 1, 0) == 1 && c != '\n') {
    }
    const std::string progress = "{\"progress\":{\"round\":1}}\n";
    (void)!::send(fd, progress.data(), progress.size(), MSG_NOSIGNAL);
    ::close(fd);
  });
  EXPECT_EQ(run({"migrate", "h:1", "--insecure"}), 1);
  rude.join();
  ::close(listener);
  EXPECT_EQ(err.str(),
            "migrate: round=1\nvessel ctl: " + path + " closed the connection before answering\n");
}

}  // namespace
}  // namespace vessel::api
