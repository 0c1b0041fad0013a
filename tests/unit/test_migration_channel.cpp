// The migration stream's protection: TLS 1.3 with a pre-shared key, plain
// TCP only when asked for, key files and control-socket requests.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/error.hpp"
#include "vm/migration_channel.hpp"
#include "vm/migration_stream.hpp"

namespace vessel {
namespace {

constexpr const char* kKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr const char* kOtherKey =
    "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

MigrationSecurity psk(const std::string& text) {
  MigrationSecurity s;
  parse_psk(text, "test", s);
  return s;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

class MigrationChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds_), 0);
    for (const int fd : fds_) {
      timeval tv{10, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
  }
  void TearDown() override {
    for (int& fd : fds_) {
      if (fd >= 0) ::close(fd);
    }
  }

  // Both handshakes at once (the server on a thread); each side's channel,
  // or its error.
  struct Ends {
    std::unique_ptr<MigrationChannel> client, server;
    std::string client_error, server_error;
  };
  Ends handshake(const MigrationSecurity& client, const MigrationSecurity& server) {
    Ends ends;
    std::thread t([&] {
      try {
        ends.server = open_migration_channel(fds_[1], server, TlsRole::kServer, "", "source");
      } catch (const Error& e) {
        ends.server_error = e.what();
        ::shutdown(fds_[1], SHUT_RDWR);
      }
    });
    try {
      ends.client =
          open_migration_channel(fds_[0], client, TlsRole::kClient, "127.0.0.1", "destination");
    } catch (const Error& e) {
      ends.client_error = e.what();
      ::shutdown(fds_[0], SHUT_RDWR);
    }
    t.join();
    return ends;
  }

  int fds_[2] = {-1, -1};
};

TEST(MigrationSecurity, KeyFiles) {
  const MigrationSecurity bare = psk(std::string(kKey) + "\n");
  EXPECT_EQ(bare.mode, MigrationSecurity::Mode::kPsk);
  EXPECT_EQ(bare.psk_identity, "vessel");
  ASSERT_EQ(bare.psk_key.size(), 32u);
  EXPECT_EQ(bare.psk_key[1], 1);
  const MigrationSecurity named = psk(std::string("host-a:") + kKey);
  EXPECT_EQ(named.psk_identity, "host-a");
  EXPECT_EQ(named.psk_key, bare.psk_key);
  // Too short, odd, not hex, empty identity: refused without echoing the key.
  for (const std::string& bad :
       std::vector<std::string>{"00112233", std::string(kKey) + "0", std::string(kKey, 62) + "zz",
                                std::string(":") + kKey, std::string("")}) {
    const std::string why = error_of([&] { psk(bad); });
    EXPECT_NE(why.find("--tls-psk test"), std::string::npos) << why;
    if (bad.size() > 8) {
      EXPECT_EQ(why.find(bad.substr(bad.size() - 8)), std::string::npos) << why;
    }
  }
}

TEST(MigrationSecurity, ExactlyOneWay) {
  EXPECT_NE(error_of([] {
              load_migration_security({}, "receive");
            }).find("receive: the migration stream needs --tls-psk FILE"),
            std::string::npos);
  MigrationSecurityFiles both;
  both.psk = "/nonexistent";
  both.insecure = true;
  EXPECT_NE(error_of([&] { load_migration_security(both, "migrate"); }).find("--insecure"),
            std::string::npos);
  MigrationSecurityFiles half;
  half.cert = "/nonexistent";
  EXPECT_NE(
      error_of([&] { load_migration_security(half, "migrate"); }).find("--tls-key is missing"),
      std::string::npos);
  MigrationSecurityFiles missing;
  missing.psk = "/nonexistent/key.psk";
  EXPECT_EQ(error_of([&] { load_migration_security(missing, "receive"); }),
            "receive: --tls-psk /nonexistent/key.psk: No such file or directory");
  MigrationSecurityFiles insecure;
  insecure.insecure = true;
  EXPECT_EQ(load_migration_security(insecure, "receive").mode, MigrationSecurity::Mode::kInsecure);
}

TEST(MigrationSecurity, KeyFileOnDisk) {
  char path[] = "/tmp/vessel-psk-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string text = std::string("vm-7:") + kKey + "\n";
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
  MigrationSecurityFiles files;
  files.psk = path;
  const MigrationSecurity s = load_migration_security(files, "receive");
  ::unlink(path);
  EXPECT_EQ(s.psk_identity, "vm-7");
  EXPECT_EQ(s.psk_key.size(), 32u);
}

TEST(MigrationSecurity, ThroughTheControlSocketRequest) {
  const MigrationSecurity key = psk(std::string("id:") + kKey);
  nlohmann::json request = {{"cmd", "migrate"}};
  migration_security_to_request(key, request);
  EXPECT_EQ(request["tls_psk"], std::string("id:") + kKey);
  const MigrationSecurity back = migration_security_from_request(request);
  EXPECT_EQ(back.psk_identity, "id");
  EXPECT_EQ(back.psk_key, key.psk_key);

  EXPECT_EQ(migration_security_from_request({{"cmd", "migrate"}, {"insecure", true}}).mode,
            MigrationSecurity::Mode::kInsecure);
  // Neither, or both: refused.
  EXPECT_THROW(migration_security_from_request({{"cmd", "migrate"}}), Error);
  EXPECT_THROW(
      migration_security_from_request({{"cmd", "migrate"}, {"insecure", true}, {"tls_psk", kKey}}),
      Error);
  EXPECT_THROW(migration_security_from_request({{"cmd", "migrate"}, {"tls_cert", "x"}}), Error);
}

TEST_F(MigrationChannelTest, TheSameKeyCarriesTheStream) {
  const MigrationSecurity key = psk(kKey);
  Ends ends = handshake(key, key);
  ASSERT_TRUE(ends.client) << ends.client_error;
  ASSERT_TRUE(ends.server) << ends.server_error;

  // A whole migration's messages, through TLS both ways.
  GuestMemory source(0x8000'0000, 64 * 4096);
  std::vector<uint64_t> pages;
  for (uint64_t i = 0; i < 64; ++i) {
    const uint64_t value = i * 0x0101'0101'0101'0101ull;
    if (i % 3 != 0)
      source.write(source.base() + i * 4096, {reinterpret_cast<const uint8_t*>(&value), 8});
    pages.push_back(i);
  }
  std::string error;
  GuestMemory destination(0x8000'0000, 64 * 4096);
  std::thread t([&] {
    try {
      MigrationReceiver rx(*ends.server);
      MigrationSender reply(*ends.server);
      while (rx.next(&destination) != MigrationReceiver::Kind::kDone) {
      }
      reply.send_ready();
    } catch (const Error& e) {
      error = e.what();
    }
  });
  MigrationSender tx(*ends.client);
  MigrationHello hello;
  hello.memory_base = source.base();
  hello.memory_size = source.size();
  hello.cpus = 1;
  tx.send_hello(hello);
  tx.send_pages(source, pages);
  tx.send_state(std::vector<uint8_t>(100000, 7));
  tx.send_done();
  MigrationReceiver back(*ends.client, "destination");
  EXPECT_EQ(back.next(nullptr), MigrationReceiver::Kind::kReady);
  t.join();
  EXPECT_EQ(error, "");
  for (uint64_t i = 0; i < 64; ++i) {
    uint64_t a = 0, b = 0;
    source.read(source.base() + i * 4096, {reinterpret_cast<uint8_t*>(&a), 8});
    destination.read(destination.base() + i * 4096, {reinterpret_cast<uint8_t*>(&b), 8});
    EXPECT_EQ(a, b) << "page " << i;
  }
}

TEST_F(MigrationChannelTest, AWrongKeyFailsTheHandshakeOnBothSides) {
  Ends ends = handshake(psk(kKey), psk(kOtherKey));
  EXPECT_FALSE(ends.client);
  EXPECT_FALSE(ends.server);
  EXPECT_TRUE(ends.client_error.starts_with("TLS handshake with the destination failed"))
      << ends.client_error;
  EXPECT_TRUE(ends.server_error.starts_with("TLS handshake with the source failed"))
      << ends.server_error;
  EXPECT_NE(ends.client_error.find("same --tls-psk key"), std::string::npos);
  EXPECT_EQ(ends.client_error.find('\n'), std::string::npos);
}

TEST_F(MigrationChannelTest, AnUnknownIdentityFailsToo) {
  Ends ends = handshake(psk(std::string("mallory:") + kKey), psk(kKey));
  EXPECT_FALSE(ends.client);
  EXPECT_FALSE(ends.server);
}

TEST_F(MigrationChannelTest, PlainTcpAgainstTlsFails) {
  MigrationSecurity plain;
  plain.mode = MigrationSecurity::Mode::kInsecure;
  std::string server_error;
  std::thread t([&] {
    server_error = error_of(
        [&] { open_migration_channel(fds_[1], psk(kKey), TlsRole::kServer, "", "source"); });
  });
  {
    std::unique_ptr<MigrationChannel> client =
        open_migration_channel(fds_[0], plain, TlsRole::kClient, "", "destination");
    MigrationSender tx(*client);
    MigrationHello hello;
    hello.memory_base = 0x8000'0000;
    hello.memory_size = 4096;
    hello.cpus = 1;
    tx.send_hello(hello);
  }
  ::shutdown(fds_[0], SHUT_RDWR);
  t.join();
  EXPECT_TRUE(server_error.starts_with("TLS handshake with the source failed")) << server_error;
}

}  // namespace
}  // namespace vessel
