// SlirpBackend against real libslirp: hand-built guest frames in, the user
// network's answers out, sockets driven through a real EventLoop.
#include "devices/net/slirp_backend.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <vector>

#include "base/event_loop.hpp"

namespace vessel::net {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr MacAddress kGuestMac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
constexpr uint8_t kGuestIp[4] = {10, 0, 2, 15};
constexpr uint8_t kGatewayIp[4] = {10, 0, 2, 2};

void put16(Bytes& b, size_t at, uint16_t v) {
  b[at] = uint8_t(v >> 8);
  b[at + 1] = uint8_t(v);
}
uint16_t get16(const Bytes& b, size_t at) {
  return uint16_t(b[at] << 8 | b[at + 1]);
}
uint32_t get32(const Bytes& b, size_t at) {
  return uint32_t(get16(b, at)) << 16 | get16(b, at + 2);
}

// RFC 1071 ones'-complement sum.
uint16_t checksum(const uint8_t* data, size_t len, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < len; i += 2) sum += uint32_t(data[i] << 8 | data[i + 1]);
  if (len & 1) sum += uint32_t(data[len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

Bytes ethernet(const MacAddress& dst, uint16_t type) {
  Bytes f(14);
  std::copy(dst.begin(), dst.end(), f.begin());
  std::copy(kGuestMac.begin(), kGuestMac.end(), f.begin() + 6);
  put16(f, 12, type);
  return f;
}

// An IPv4 packet from the guest, in an Ethernet frame to `dst_mac`.
Bytes ipv4_frame(const MacAddress& dst_mac, const uint8_t src[4], const uint8_t dst[4],
                 uint8_t proto, const Bytes& payload) {
  Bytes f = ethernet(dst_mac, 0x0800);
  Bytes ip(20);
  ip[0] = 0x45;
  put16(ip, 2, uint16_t(20 + payload.size()));
  put16(ip, 4, 0x1234);
  ip[8] = 64;
  ip[9] = proto;
  std::copy(src, src + 4, ip.begin() + 12);
  std::copy(dst, dst + 4, ip.begin() + 16);
  put16(ip, 10, checksum(ip.data(), ip.size()));
  f.insert(f.end(), ip.begin(), ip.end());
  f.insert(f.end(), payload.begin(), payload.end());
  return f;
}

Bytes arp_request_for_gateway() {
  Bytes f = ethernet({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0x0806);
  Bytes arp(28);
  put16(arp, 0, 1);       // Ethernet
  put16(arp, 2, 0x0800);  // IPv4
  arp[4] = 6;
  arp[5] = 4;
  put16(arp, 6, 1);  // request
  std::copy(kGuestMac.begin(), kGuestMac.end(), arp.begin() + 8);
  std::copy(kGuestIp, kGuestIp + 4, arp.begin() + 14);
  std::copy(kGatewayIp, kGatewayIp + 4, arp.begin() + 24);
  f.insert(f.end(), arp.begin(), arp.end());
  f.resize(60);  // minimum Ethernet frame
  return f;
}

constexpr uint32_t kXid = 0x5eed1234;

Bytes dhcp_discover() {
  // BOOTP (RFC 951) with DHCP options (RFC 2132), at the full size of
  // struct bootp_t (236 fixed bytes + 312 of options).
  Bytes bootp(548);
  bootp[0] = 1;  // BOOTREQUEST
  bootp[1] = 1;  // Ethernet
  bootp[2] = 6;
  put16(bootp, 4, uint16_t(kXid >> 16));
  put16(bootp, 6, uint16_t(kXid));
  std::copy(kGuestMac.begin(), kGuestMac.end(), bootp.begin() + 28);  // chaddr
  const uint8_t options[] = {0x63, 0x82, 0x53, 0x63, 53, 1, 1, 255};  // cookie, DISCOVER, end
  std::copy(std::begin(options), std::end(options), bootp.begin() + 236);
  Bytes udp(8);
  put16(udp, 0, 68);
  put16(udp, 2, 67);
  put16(udp, 4, uint16_t(8 + bootp.size()));  // checksum 0: none
  udp.insert(udp.end(), bootp.begin(), bootp.end());
  const uint8_t any[4] = {0, 0, 0, 0}, all[4] = {255, 255, 255, 255};
  return ipv4_frame({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, any, all, 17, udp);
}

// A TCP SYN from the guest's `sport` to `dst`:`dport`.
Bytes tcp_syn(const MacAddress& dst_mac, const uint8_t dst[4], uint16_t sport, uint16_t dport,
              uint32_t seq) {
  Bytes tcp(20);
  put16(tcp, 0, sport);
  put16(tcp, 2, dport);
  put16(tcp, 4, uint16_t(seq >> 16));
  put16(tcp, 6, uint16_t(seq));
  tcp[12] = 5 << 4;
  tcp[13] = 0x02;  // SYN
  put16(tcp, 14, 65535);
  // Pseudo-header: source, destination, protocol, TCP length.
  uint32_t sum = 0;
  for (int i = 0; i < 4; i += 2) {
    sum += uint32_t(kGuestIp[i] << 8 | kGuestIp[i + 1]);
    sum += uint32_t(dst[i] << 8 | dst[i + 1]);
  }
  sum += 6 + uint32_t(tcp.size());
  put16(tcp, 16, checksum(tcp.data(), tcp.size(), sum));
  return ipv4_frame(dst_mac, kGuestIp, dst, 6, tcp);
}

// What the tests look at in an IPv4 frame toward the guest.
struct Ip {
  bool ok = false;
  uint8_t proto = 0;
  uint32_t src = 0, dst = 0;
  size_t l4 = 0;  // offset of the transport header
};
Ip parse_ip(const Bytes& f) {
  Ip ip;
  if (f.size() < 34 || get16(f, 12) != 0x0800 || (f[14] >> 4) != 4) return ip;
  ip.l4 = 14 + size_t(f[14] & 15) * 4;
  if (f.size() < ip.l4 + 20) return ip;
  ip.ok = true;
  ip.proto = f[23];
  ip.src = get32(f, 26);
  ip.dst = get32(f, 30);
  return ip;
}

uint16_t free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

class SlirpBackendTest : public ::testing::Test {
 protected:
  void open(const SlirpOptions& options = {}) {
    backend = std::make_unique<SlirpBackend>(options);
    collect_frames();
    loop.add(backend.get());
  }
  // Frames toward the guest land in `frames`.
  void collect_frames() {
    backend->set_sink(
        [this](std::span<const uint8_t> f) { frames.emplace_back(f.begin(), f.end()); });
  }
  void TearDown() override {
    if (backend) loop.remove(backend.get());
  }
  // Runs the event loop until `done` or about three seconds pass.
  bool run_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      loop.run_once(10);
    }
    return true;
  }
  // The first received frame that `match` accepts, or nullptr.
  const Bytes* find(const std::function<bool(const Bytes&)>& match) const {
    for (const Bytes& f : frames) {
      if (match(f)) return &f;
    }
    return nullptr;
  }
  void learn_guest_mac() {
    // An ARP request teaches slirp where 10.0.2.15 lives (and is answered).
    backend->send(arp_request_for_gateway());
    ASSERT_TRUE(run_until([&] { return !frames.empty(); }));
  }

  EventLoop loop;
  std::unique_ptr<SlirpBackend> backend;
  std::vector<Bytes> frames;
};

TEST_F(SlirpBackendTest, GatewayAnswersArp) {
  open();
  backend->send(arp_request_for_gateway());
  ASSERT_TRUE(run_until([&] { return !frames.empty(); }));
  const Bytes& reply = frames[0];
  ASSERT_GE(reply.size(), 42u);
  EXPECT_EQ(get16(reply, 12), 0x0806);
  EXPECT_TRUE(std::equal(kGuestMac.begin(), kGuestMac.end(), reply.begin()));  // to us
  EXPECT_EQ(get16(reply, 20), 2);                                              // reply
  EXPECT_TRUE(std::equal(kGatewayIp, kGatewayIp + 4, reply.begin() + 28));     // sender 10.0.2.2
  EXPECT_TRUE(std::equal(kGuestIp, kGuestIp + 4, reply.begin() + 38));         // target us
}

TEST_F(SlirpBackendTest, DhcpDiscoverGetsAnOfferOf10_0_2_15) {
  open();
  backend->send(dhcp_discover());
  const Bytes* offer = nullptr;
  ASSERT_TRUE(run_until([&] {
    offer = find([](const Bytes& f) {
      const Ip ip = parse_ip(f);
      return ip.ok && ip.proto == 17 && get16(f, ip.l4) == 67 && get16(f, ip.l4 + 2) == 68;
    });
    return offer != nullptr;
  }));
  const Ip ip = parse_ip(*offer);
  const size_t bootp = ip.l4 + 8;
  ASSERT_GE(offer->size(), bootp + 243);
  EXPECT_EQ((*offer)[bootp], 2);  // BOOTREPLY
  EXPECT_EQ(get32(*offer, bootp + 4), kXid);
  EXPECT_EQ(get32(*offer, bootp + 16), 0x0a00020fu);  // yiaddr 10.0.2.15
  EXPECT_EQ(ip.src, 0x0a000202u);                     // from the gateway
  EXPECT_EQ(get32(*offer, bootp + 236), 0x63825363u);
  // Walk the options for the message type: 2 = OFFER.
  int type = -1;
  for (size_t at = bootp + 240; at + 1 < offer->size() && (*offer)[at] != 255;) {
    const uint8_t code = (*offer)[at];
    if (code == 0) {
      ++at;
      continue;
    }
    if (code == 53) type = (*offer)[at + 2];
    at += 2 + (*offer)[at + 1];
  }
  EXPECT_EQ(type, 2);
}

TEST_F(SlirpBackendTest, HostfwdConnectionReachesTheGuestAsASyn) {
  const uint16_t host_port = free_port();
  HostForward rule;
  inet_pton(AF_INET, "127.0.0.1", &rule.host_addr);
  rule.host_port = host_port;
  inet_pton(AF_INET, "10.0.2.15", &rule.guest_addr);
  rule.guest_port = 2222;
  open(SlirpOptions{{rule}});
  learn_guest_mac();

  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(host_port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ASSERT_TRUE(rc == 0 || errno == EINPROGRESS) << strerror(errno);

  const auto is_syn_to_guest = [](const Bytes& f) {
    const Ip ip = parse_ip(f);
    return ip.ok && ip.proto == 6 && ip.dst == 0x0a00020fu && get16(f, ip.l4 + 2) == 2222 &&
           (f[ip.l4 + 13] & 0x12) == 0x02;  // SYN without ACK
  };
  EXPECT_TRUE(run_until([&] { return find(is_syn_to_guest) != nullptr; }));
  close(fd);
}

TEST_F(SlirpBackendTest, GatewayReachesHostLoopbackServices) {
  // A host service on 127.0.0.1, reached by the guest as 10.0.2.2.
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const uint16_t port = ntohs(addr.sin_port);

  open();
  learn_guest_mac();
  const MacAddress gateway_mac = [&] {
    MacAddress m{};
    std::copy(frames[0].begin() + 6, frames[0].begin() + 12, m.begin());
    return m;
  }();
  constexpr uint32_t kSeq = 1000;
  backend->send(tcp_syn(gateway_mac, kGatewayIp, 40000, port, kSeq));

  int accepted = -1;
  ASSERT_TRUE(run_until([&] {
    if (accepted < 0) accepted = accept(listener, nullptr, nullptr);
    return accepted >= 0;
  }));
  // Once the host side connected, slirp completes the guest's handshake.
  const auto is_syn_ack = [&](const Bytes& f) {
    const Ip ip = parse_ip(f);
    return ip.ok && ip.proto == 6 && ip.src == 0x0a000202u && get16(f, ip.l4) == port &&
           get16(f, ip.l4 + 2) == 40000 && (f[ip.l4 + 13] & 0x12) == 0x12 &&
           get32(f, ip.l4 + 8) == kSeq + 1;
  };
  EXPECT_TRUE(run_until([&] { return find(is_syn_ack) != nullptr; }));
  close(accepted);
  close(listener);
}

TEST_F(SlirpBackendTest, MalformedFramesAreHarmless) {
  open();
  backend->send(Bytes(3, 0xff));                // shorter than Ethernet: not even given to slirp
  backend->send(Bytes(kMaxFrameBytes + 1, 0));  // oversized
  Bytes junk = arp_request_for_gateway();
  junk.resize(20);  // truncated ARP
  backend->send(junk);
  Bytes bad_ip = dhcp_discover();
  bad_ip[14] = 0x4f;  // IHL past the end of the packet
  bad_ip.resize(40);
  backend->send(bad_ip);
  for (int i = 0; i < 3; ++i) loop.run_once(0);
  EXPECT_TRUE(frames.empty());
}

TEST_F(SlirpBackendTest, FramesFlowWithoutASink) {
  open();
  backend->set_sink(nullptr);
  backend->send(arp_request_for_gateway());  // the reply goes nowhere, quietly
  loop.run_once(0);
  // The backend keeps working, and the reply it had no sink for is dropped,
  // not held back and delivered to the next sink.
  collect_frames();
  backend->send(arp_request_for_gateway());
  ASSERT_TRUE(run_until([&] { return !frames.empty(); })) << "no answer once a sink is back";
  for (int i = 0; i < 3; ++i) loop.run_once(0);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(get16(frames[0], 12), 0x0806) << "not an ARP frame";
  EXPECT_EQ(get16(frames[0], 14 + 6), 2) << "not an ARP reply";
}

}  // namespace
}  // namespace vessel::net
