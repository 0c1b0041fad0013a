// `--net` parsing: the accepted forms, and one clear line for each bad one.
#include "devices/net/net_options.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "base/error.hpp"
#include "devices/net/slirp_backend.hpp"
#include "devices/net/tap_backend.hpp"

namespace vessel::net {
namespace {

std::string ip(in_addr a) {
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a, text, sizeof text);
  return text;
}

// The message of the Error that parsing `spec` throws ("" if none).
std::string error_of(const std::string& spec) {
  try {
    parse_net_options(spec);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(NetOptions, None) {
  const NetOptions o = parse_net_options("none");
  EXPECT_EQ(o.kind, NetOptions::Kind::kNone);
  EXPECT_EQ(open_net_backend(o), nullptr);
}

TEST(NetOptions, UserWithoutRules) {
  const NetOptions o = parse_net_options("user");
  EXPECT_EQ(o.kind, NetOptions::Kind::kUser);
  EXPECT_TRUE(o.hostfwd.empty());
  EXPECT_FALSE(o.mac.has_value());
}

TEST(NetOptions, UserHostfwdQemuSyntax) {
  const NetOptions o = parse_net_options("user,hostfwd=tcp:127.0.0.1:5555-:22");
  ASSERT_EQ(o.hostfwd.size(), 1u);
  const HostForward& f = o.hostfwd[0];
  EXPECT_FALSE(f.udp);
  EXPECT_EQ(ip(f.host_addr), "127.0.0.1");
  EXPECT_EQ(f.host_port, 5555);
  EXPECT_EQ(ip(f.guest_addr), "10.0.2.15");  // empty guest address: the DHCP address
  EXPECT_EQ(f.guest_port, 22);
}

TEST(NetOptions, SeveralRulesAndDefaults) {
  const NetOptions o = parse_net_options(
      "user,hostfwd=udp::5353-10.0.2.16:53,hostfwd=::8080-:80,hostfwd=tcp:0.0.0.0:65535-:1,"
      "mac=52:54:00:AA:bb:0c");
  ASSERT_EQ(o.hostfwd.size(), 3u);
  EXPECT_TRUE(o.hostfwd[0].udp);
  EXPECT_EQ(ip(o.hostfwd[0].host_addr), "127.0.0.1");  // empty host address: loopback only
  EXPECT_EQ(o.hostfwd[0].host_port, 5353);
  EXPECT_EQ(ip(o.hostfwd[0].guest_addr), "10.0.2.16");
  EXPECT_EQ(o.hostfwd[0].guest_port, 53);
  EXPECT_FALSE(o.hostfwd[1].udp);  // empty protocol: tcp, as in QEMU
  EXPECT_EQ(o.hostfwd[1].host_port, 8080);
  EXPECT_EQ(ip(o.hostfwd[2].host_addr), "0.0.0.0");
  EXPECT_EQ(o.hostfwd[2].host_port, 65535);
  EXPECT_EQ(o.hostfwd[2].guest_port, 1);
  ASSERT_TRUE(o.mac.has_value());
  EXPECT_EQ(*o.mac, (MacAddress{0x52, 0x54, 0x00, 0xaa, 0xbb, 0x0c}));
}

TEST(NetOptions, Tap) {
  NetOptions o = parse_net_options("tap=vtap0");
  EXPECT_EQ(o.kind, NetOptions::Kind::kTap);
  EXPECT_EQ(o.tap_name, "vtap0");
  o = parse_net_options("tap=br-x_1.2,mac=02:00:00:00:00:01");
  EXPECT_EQ(o.tap_name, "br-x_1.2");
  EXPECT_EQ(*o.mac, (MacAddress{2, 0, 0, 0, 0, 1}));
}

TEST(NetOptions, BadValuesNameTheProblemOnOneLine) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "unknown network"},
      {"bridge", "unknown network"},
      {"none,mac=52:54:00:12:34:56", "takes no options"},
      {"user,", "empty option"},
      {"user,,mac=52:54:00:12:34:56", "empty option"},
      {"user,hostfwd", "needs a value"},
      {"user,foo=bar", "unknown option 'foo'"},
      {"user,hostfwd=tcp:127.0.0.1:5555", "expected [tcp|udp]"},
      {"user,hostfwd=tcp:127.0.0.1:5555-22", "expected [tcp|udp]"},
      {"user,hostfwd=5555-:22", "expected [tcp|udp]"},
      {"user,hostfwd=sctp:127.0.0.1:5555-:22", "protocol 'sctp'"},
      {"user,hostfwd=tcp:127.0.0.1:0-:22", "host port '0'"},
      {"user,hostfwd=tcp:127.0.0.1:65536-:22", "host port '65536'"},
      {"user,hostfwd=tcp:127.0.0.1:-:22", "host port ''"},
      {"user,hostfwd=tcp:127.0.0.1:+80-:22", "host port '+80'"},
      {"user,hostfwd=tcp:127.0.0.1:80x-:22", "host port '80x'"},
      {"user,hostfwd=tcp:127.0.0.1:5555-:", "guest port ''"},
      {"user,hostfwd=tcp:127.0.0.1:5555-:99999", "guest port '99999'"},
      {"user,hostfwd=tcp:localhost:5555-:22", "host address 'localhost'"},
      {"user,hostfwd=tcp:1.2.3:5555-:22", "host address '1.2.3'"},
      {"user,hostfwd=tcp::5555-10.0.3.15:22", "outside the user network"},
      {"user,hostfwd=tcp::5555-::1:22", "guest address"},
      {"user,mac=01:00:5e:00:00:01", "multicast"},
      {"user,mac=00:00:00:00:00:00", "all-zero"},
      {"user,mac=52:54:00:12:34", "bad MAC address"},
      {"user,mac=52-54-00-12-34-56", "bad MAC address"},
      {"user,mac=52:54:00:12:34:5g", "bad MAC address"},
      {"user,mac=52:54:00:12:34:56,mac=52:54:00:12:34:57", "mac given twice"},
      {"tap=", "bad tap interface name"},
      {"tap=a-name-far-too-long", "bad tap interface name"},
      {"tap=a/b", "bad tap interface name"},
      {"tap=..", "bad tap interface name"},
      {"tap=tap0,hostfwd=tcp::1-:2", "needs user networking"},
  };
  for (const auto& [spec, expected] : cases) {
    const std::string message = error_of(spec);
    EXPECT_NE(message.find(expected), std::string::npos) << spec << " -> " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << spec;
  }
}

TEST(NetOptions, HostfwdOnABusyPortFailsToOpen) {
  // Occupy a loopback port, then ask slirp to listen on it.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);

  const NetOptions o =
      parse_net_options("user,hostfwd=tcp:127.0.0.1:" + std::to_string(port) + "-:22");
  try {
    open_net_backend(o);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("cannot listen"), std::string::npos) << message;
    EXPECT_NE(message.find(std::to_string(port)), std::string::npos) << message;
  }
  close(fd);
}

TEST(NetOptions, TapErrorsAreOneLine) {
  EXPECT_THROW(TapBackend(""), Error);
  EXPECT_THROW(TapBackend("name-longer-than-ifnamsiz"), Error);
}

}  // namespace
}  // namespace vessel::net
