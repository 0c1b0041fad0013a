#include "vm/migration_stream.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zstd.h>

#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/error.hpp"

namespace vessel {
namespace {

constexpr uint64_t kBase = 0x8000'0000;
constexpr uint64_t kPage = GuestMemory::kPageSize;
using Kind = MigrationReceiver::Kind;
constexpr uint32_t kVersion = kMigrationProtocolVersion;

// Page contents the tests send: words like a text file or a kernel's data
// (compressible), or noise (not).
void fill_text(uint8_t* page, std::mt19937_64& rng) {
  static const char* const kWords[] = {"the ",     "kernel ", "page ",   "0x0000 ", "struct ",
                                       "return ",  "\n",      "memory ", "if (",    "} else {",
                                       "vessel ",  "guest ",  "int ",    "= 0;",    "NULL ",
                                       "migrate ", "dirty ",  "    ",    "zstd ",   "error "};
  uint64_t at = 0;
  while (at < kPage) {
    const char* w = kWords[rng() % std::size(kWords)];
    const uint64_t n = std::min<uint64_t>(std::strlen(w), kPage - at);
    std::memcpy(page + at, w, n);
    at += n;
  }
}

void fill_random(uint8_t* page, std::mt19937_64& rng) {
  for (uint64_t i = 0; i < kPage; i += 8) {
    const uint64_t v = rng();
    std::memcpy(page + i, &v, 8);
  }
}

std::vector<uint64_t> all_pages(const GuestMemory& mem) {
  std::vector<uint64_t> out(mem.pages());
  for (uint64_t i = 0; i < out.size(); ++i) out[i] = i;
  return out;
}

MigrationHello hello_for(const GuestMemory& mem) {
  MigrationHello h;
  h.memory_base = mem.base();
  h.memory_size = mem.size();
  h.cpus = 2;
  h.config = R"({"memory": "4M", "cpus": 2})";
  return h;
}

template <typename T>
void put(std::vector<uint8_t>& out, T value) {
  const size_t at = out.size();
  out.resize(at + sizeof value);
  std::memcpy(out.data() + at, &value, sizeof value);
}

std::vector<uint8_t> frame(uint32_t type, const std::vector<uint8_t>& payload, uint32_t flags = 0,
                           std::optional<uint64_t> length = std::nullopt) {
  std::vector<uint8_t> out;
  put<uint32_t>(out, type);
  put<uint32_t>(out, flags);
  put<uint64_t>(out, length.value_or(payload.size()));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

std::vector<uint8_t> hello_payload(uint64_t magic, uint32_t version, uint64_t base, uint64_t size,
                                   uint32_t cpus = 1, const std::string& config = "{}") {
  std::vector<uint8_t> p;
  put<uint64_t>(p, magic);
  put<uint32_t>(p, version);
  put<uint64_t>(p, base);
  put<uint64_t>(p, size);
  put<uint32_t>(p, cpus);
  put<uint32_t>(p, static_cast<uint32_t>(config.size()));
  p.insert(p.end(), config.begin(), config.end());
  return p;
}

class MigrationStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds_), 0);
    // A test that goes wrong ends in a timeout Error, not a hung test run.
    set_timeout(fds_[0], 20);
    set_timeout(fds_[1], 20);
  }
  void TearDown() override {
    close_source();
    if (fds_[1] >= 0) ::close(fds_[1]);
  }

  static void set_timeout(int fd, int seconds) {
    timeval tv{seconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  void close_source() {
    if (fds_[0] >= 0) ::close(fds_[0]);
    fds_[0] = -1;
  }
  int source() const { return fds_[0]; }
  int destination() const { return fds_[1]; }

  void write_raw(const std::vector<uint8_t>& bytes) {
    ASSERT_EQ(::send(source(), bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  // A valid HELLO for `mem`, so later messages are accepted as in order.
  void write_hello(const GuestMemory& mem) {
    write_raw(frame(1, hello_payload(kMigrationMagic, kVersion, mem.base(), mem.size())));
  }

  // Writes `bytes` (after a HELLO for `mem` if `hello`), closes the source
  // unless `keep_open`, and returns the Error the receiver throws reading
  // up to the bad message.
  std::string error_from(const std::vector<uint8_t>& bytes, GuestMemory* mem, bool hello = true,
                         bool keep_open = false) {
    if (hello) write_hello(*mem);
    write_raw(bytes);
    if (!keep_open) close_source();
    MigrationReceiver rx(destination());
    try {
      for (int i = 0; i < 10; ++i) rx.next(mem);
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  }

  int fds_[2] = {-1, -1};
};

// Receives a whole migration on its own thread, the way the destination
// does: a HELLO that sizes the memory, then PAGES and STATE until DONE.
struct Destination {
  std::unique_ptr<GuestMemory> memory;
  std::vector<Kind> kinds;
  std::vector<uint8_t> state;
  StreamStats stats;
  std::string error;

  void run(int fd) { run(*plain_channel(fd)); }
  void run(MigrationChannel& channel) {
    try {
      MigrationReceiver rx(channel);
      kinds.push_back(rx.next(nullptr));
      if (kinds.back() != Kind::kHello) return;
      memory = std::make_unique<GuestMemory>(rx.hello().memory_base, rx.hello().memory_size);
      while (kinds.back() != Kind::kDone) kinds.push_back(rx.next(memory.get()));
      state = rx.take_state();
      stats = rx.stats();
      MigrationSender(channel).send_ready();
    } catch (const Error& e) {
      error = e.what();
    }
  }
};

void expect_same_stats(const StreamStats& a, const StreamStats& b) {
  EXPECT_EQ(a.pages, b.pages);
  EXPECT_EQ(a.zero_pages, b.zero_pages);
  EXPECT_EQ(a.raw_pages, b.raw_pages);
  EXPECT_EQ(a.compressed_pages, b.compressed_pages);
  EXPECT_EQ(a.bytes_on_wire, b.bytes_on_wire);
}

TEST_F(MigrationStreamTest, RoundTripEveryPageArrivesByteIdentical) {
  GuestMemory src(kBase, 4 << 20);  // 1024 pages: a third each zero, text, random
  std::mt19937_64 rng(1);
  for (uint64_t page = 0; page < src.pages(); ++page) {
    uint8_t* p = src.host_base() + page * kPage;
    src.prepare_write(kBase + page * kPage, kPage);
    if (page % 3 == 1) fill_text(p, rng);
    if (page % 3 == 2) fill_random(p, rng);
  }
  // A zero page with one byte set is not a zero page.
  src.host_base()[999 * kPage + 4095] = 7;

  Destination dst;
  std::thread rx([&] { dst.run(destination()); });
  MigrationSender tx(source());
  tx.send_hello(hello_for(src));
  tx.send_pages(src, all_pages(src));
  const std::vector<uint8_t> state = {1, 2, 3, 4, 5};
  tx.send_state(state);
  tx.send_done();
  MigrationReceiver back(source(), "destination");
  EXPECT_EQ(back.next(nullptr), Kind::kReady);
  rx.join();

  ASSERT_EQ(dst.error, "");
  ASSERT_TRUE(dst.memory);
  EXPECT_EQ(dst.memory->base(), src.base());
  ASSERT_EQ(dst.memory->size(), src.size());
  for (uint64_t page = 0; page < src.pages(); ++page) {
    ASSERT_EQ(
        std::memcmp(src.host_base() + page * kPage, dst.memory->host_base() + page * kPage, kPage),
        0)
        << "page " << page;
  }
  EXPECT_EQ(dst.state, state);
  // HELLO, 4 batches of 256 pages, STATE, DONE.
  EXPECT_EQ(dst.kinds, (std::vector<Kind>{Kind::kHello, Kind::kPages, Kind::kPages, Kind::kPages,
                                          Kind::kPages, Kind::kState, Kind::kDone}));
  const StreamStats& s = tx.stats();
  EXPECT_EQ(s.pages, 1024u);
  EXPECT_EQ(s.zero_pages, 341u);        // pages 0, 3, ... 1023, less page 999
  EXPECT_EQ(s.compressed_pages, 342u);  // every text page, and page 999
  EXPECT_EQ(s.raw_pages, 341u);         // random pages do not shrink
  // Zero pages cost 9 bytes, text pages well under half a page.
  EXPECT_LT(s.bytes_on_wire, 341 * (kPage + 9) + 342 * kPage / 2 + 4096);
  expect_same_stats(s, dst.stats);
}

// The pages sent while the guest is stopped go raw (set_compression(false)):
// the same memory arrives, and no page is compressed.
TEST_F(MigrationStreamTest, PagesGoRawWithCompressionOff) {
  GuestMemory src(kBase, 64 * kPage);
  std::mt19937_64 rng(3);
  for (uint64_t page = 0; page < src.pages(); ++page) {
    src.prepare_write(kBase + page * kPage, kPage);
    if (page % 2 == 0) fill_text(src.host_base() + page * kPage, rng);
  }
  Destination dst;
  std::thread rx([&] { dst.run(destination()); });
  MigrationSender tx(source());
  tx.send_hello(hello_for(src));
  tx.set_compression(false);
  tx.send_pages(src, all_pages(src));
  tx.send_state(std::vector<uint8_t>{1});
  tx.send_done();
  MigrationReceiver back(source(), "destination");
  EXPECT_EQ(back.next(nullptr), Kind::kReady);
  rx.join();

  ASSERT_EQ(dst.error, "");
  ASSERT_TRUE(dst.memory);
  EXPECT_EQ(std::memcmp(src.host_base(), dst.memory->host_base(), src.size()), 0);
  const StreamStats& s = tx.stats();
  EXPECT_EQ(s.compressed_pages, 0u);
  EXPECT_EQ(s.raw_pages, 32u);   // the text pages, which zstd would have shrunk
  EXPECT_EQ(s.zero_pages, 32u);  // zero pages stay 9 bytes
  expect_same_stats(s, dst.stats);
}

TEST_F(MigrationStreamTest, ALaterRoundOverwritesAndZeroesPages) {
  GuestMemory src(kBase, 64 * kPage);
  std::mt19937_64 rng(2);
  for (uint64_t page = 0; page < 64; ++page) {
    src.prepare_write(kBase + page * kPage, kPage);
    fill_text(src.host_base() + page * kPage, rng);
  }
  GuestMemory dst(kBase, 64 * kPage);
  MigrationSender tx(source());
  MigrationReceiver rx(destination());
  tx.send_hello(hello_for(src));
  ASSERT_EQ(rx.next(&dst), Kind::kHello);  // matches the given layout
  tx.send_pages(src, all_pages(src));
  ASSERT_EQ(rx.next(&dst), Kind::kPages);
  // Round two: page 5 zeroed, page 6 changed; only those two are sent.
  ASSERT_TRUE(src.discard(kBase + 5 * kPage, kPage));
  src.prepare_write(kBase + 6 * kPage, kPage);
  fill_random(src.host_base() + 6 * kPage, rng);
  const uint64_t round2[] = {5, 6};
  tx.send_pages(src, round2);
  ASSERT_EQ(rx.next(&dst), Kind::kPages);
  EXPECT_EQ(std::memcmp(src.host_base(), dst.host_base(), src.size()), 0);
  EXPECT_EQ(rx.stats().zero_pages, 1u);
  EXPECT_EQ(rx.stats().raw_pages, 1u);
}

// Pages change kind between rounds (text, noise, zero, one byte set), and
// every round leaves the destination byte-identical: what a page was sent
// as before does not decide how it goes next.
TEST_F(MigrationStreamTest, PagesThatChangeKindBetweenRoundsArriveIdentical) {
  GuestMemory src(kBase, 32 * kPage);
  GuestMemory dst(kBase, 32 * kPage);
  MigrationSender tx(source());
  MigrationReceiver rx(destination());
  tx.send_hello(hello_for(src));
  ASSERT_EQ(rx.next(&dst), Kind::kHello);
  std::mt19937_64 rng(3);
  for (unsigned round = 0; round < 4; ++round) {
    for (uint64_t page = 0; page < src.pages(); ++page) {
      uint8_t* p = src.host_base() + page * kPage;
      src.prepare_write(kBase + page * kPage, kPage);
      switch ((page + round) % 4) {
        case 0: fill_text(p, rng); break;
        case 1: fill_random(p, rng); break;
        case 2: std::memset(p, 0, kPage); break;
        default: std::memset(p, 0, kPage); p[rng() % kPage] = 0xff;
      }
    }
    tx.send_pages(src, all_pages(src));
    ASSERT_EQ(rx.next(&dst), Kind::kPages);
    ASSERT_EQ(std::memcmp(src.host_base(), dst.host_base(), src.size()), 0) << "round " << round;
  }
  // Per round: 8 text and 8 one-byte pages shrink, 8 noise pages do not.
  EXPECT_EQ(tx.stats().compressed_pages, 4 * 16u);
  EXPECT_EQ(tx.stats().raw_pages, 4 * 8u);
  EXPECT_EQ(tx.stats().zero_pages, 4 * 8u);
  expect_same_stats(tx.stats(), rx.stats());
}

TEST_F(MigrationStreamTest, ReadyErrorAndDoneAreDelivered) {
  send_ready(source());
  MigrationSender tx(source());
  tx.send_error(std::string(10000, 'x'));  // cut to 4 KiB, not refused
  MigrationReceiver rx(destination());
  EXPECT_EQ(rx.next(nullptr), Kind::kReady);
  EXPECT_EQ(rx.next(nullptr), Kind::kError);
  EXPECT_EQ(rx.error(), std::string(4096, 'x'));
}

TEST_F(MigrationStreamTest, SenderRefusesPagesOutsideMemory) {
  GuestMemory mem(kBase, 4 * kPage);
  MigrationSender tx(source());
  const uint64_t bad[] = {4};
  EXPECT_THROW(tx.send_pages(mem, bad), Error);
}

TEST_F(MigrationStreamTest, SendToAClosedPeerIsAnError) {
  ::close(fds_[1]);
  fds_[1] = -1;
  MigrationSender tx(source());
  EXPECT_THROW(tx.send_done(), Error);
}

// ---- malformed streams: one Error each, never a crash or a hang ----

TEST_F(MigrationStreamTest, WrongMagic) {
  GuestMemory mem(kBase, 4 * kPage);
  EXPECT_EQ(error_from(frame(1, hello_payload(0x1234, kVersion, kBase, mem.size())), &mem, false),
            "migration stream: not a vessel migration stream (magic 0x0000000000001234)");
}

TEST_F(MigrationStreamTest, WrongVersion) {
  GuestMemory mem(kBase, 4 * kPage);
  EXPECT_EQ(error_from(frame(1, hello_payload(kMigrationMagic, 1, kBase, mem.size())), &mem, false),
            "migration stream: the source speaks protocol version 1, this vessel speaks 3");
}

TEST_F(MigrationStreamTest, MemoryLayoutMismatch) {
  GuestMemory mem(kBase, 4 * kPage);
  EXPECT_NE(
      error_from(frame(1, hello_payload(kMigrationMagic, kVersion, kBase, 8 * kPage)), &mem, false)
          .find("this VM has"),
      std::string::npos);
  TearDown();
  SetUp();
  EXPECT_NE(error_from(frame(1, hello_payload(kMigrationMagic, kVersion, kBase + 1, 8 * kPage)),
                       nullptr, false)
                .find("unaligned"),
            std::string::npos);
}

TEST_F(MigrationStreamTest, HelloWithConfigOverTheLimit) {
  GuestMemory mem(kBase, 4 * kPage);
  auto p = hello_payload(kMigrationMagic, kVersion, kBase, mem.size(), 1, std::string(70000, ' '));
  EXPECT_NE(error_from(frame(1, p), &mem, false).find("over the 65536 byte limit"),
            std::string::npos);
}

TEST_F(MigrationStreamTest, TruncatedHeader) {
  GuestMemory mem(kBase, 4 * kPage);
  EXPECT_EQ(error_from({2, 0, 0, 0, 0, 0, 0, 0}, &mem),
            "migration stream: truncated message header (connection closed by the source after "
            "8 of 16 bytes)");
}

TEST_F(MigrationStreamTest, TruncatedPayload) {
  GuestMemory mem(kBase, 4 * kPage);
  EXPECT_EQ(error_from(frame(3, std::vector<uint8_t>(50), 0, 100), &mem),
            "migration stream: truncated STATE message (connection closed by the source after 50 "
            "of 100 bytes)");
}

TEST_F(MigrationStreamTest, CleanCloseBetweenMessages) {
  GuestMemory mem(kBase, 4 * kPage);
  EXPECT_EQ(error_from({}, &mem), "migration stream: connection closed by the source");
}

TEST_F(MigrationStreamTest, LengthOverTheLimitIsRefusedBeforeReading) {
  GuestMemory mem(kBase, 4 * kPage);
  // The source stays open and sends no payload: reading it would time out,
  // so only a check on the header gives this error.
  set_timeout(destination(), 1);
  EXPECT_EQ(error_from(frame(2, {}, 0, 2 << 20), &mem, true, /*keep_open=*/true),
            "migration stream: PAGES message of 2097152 bytes is over its limit of 1050884");
  EXPECT_NE(error_from(frame(3, {}, 0, ~0ull), &mem, false, true).find("over its limit"),
            std::string::npos);
  EXPECT_NE(error_from(frame(6, {}, 0, 4097), &mem, false, true).find("over its limit"),
            std::string::npos);
  EXPECT_NE(error_from(frame(4, {}, 0, 1), &mem, false, true).find("over its limit of 0"),
            std::string::npos);
}

TEST_F(MigrationStreamTest, SilentPeerTimesOut) {
  GuestMemory mem(kBase, 4 * kPage);
  set_timeout(destination(), 1);
  EXPECT_EQ(error_from({}, &mem, true, /*keep_open=*/true),
            "migration stream: timed out waiting for the source");
}

std::vector<uint8_t> pages_payload(uint32_t count, const std::vector<uint8_t>& records) {
  std::vector<uint8_t> p;
  put<uint32_t>(p, count);
  p.insert(p.end(), records.begin(), records.end());
  return p;
}

std::vector<uint8_t> zstd_record(uint64_t index, const std::vector<uint8_t>& content) {
  std::vector<uint8_t> compressed(ZSTD_compressBound(content.size()));
  const size_t n =
      ZSTD_compress(compressed.data(), compressed.size(), content.data(), content.size(), 1);
  EXPECT_FALSE(ZSTD_isError(n));
  std::vector<uint8_t> r;
  put<uint64_t>(r, index);
  put<uint8_t>(r, 2);
  put<uint32_t>(r, static_cast<uint32_t>(n));
  r.insert(r.end(), compressed.begin(), compressed.begin() + static_cast<ptrdiff_t>(n));
  return r;
}

TEST_F(MigrationStreamTest, PageIndexOutOfRange) {
  GuestMemory mem(kBase, 4 * kPage);
  std::vector<uint8_t> r;
  put<uint64_t>(r, 123456);
  put<uint8_t>(r, 0);
  EXPECT_EQ(error_from(frame(2, pages_payload(1, r)), &mem),
            "migration stream: page index 123456 outside guest memory (4 pages)");
}

TEST_F(MigrationStreamTest, IndexThatWouldOverflowAnAddress) {
  GuestMemory mem(kBase, 4 * kPage);
  std::vector<uint8_t> r;
  put<uint64_t>(r, (~0ull >> 12) + 1);  // index * 4096 wraps to 0
  put<uint8_t>(r, 1);
  r.resize(r.size() + kPage);
  EXPECT_NE(error_from(frame(2, pages_payload(1, r)), &mem).find("outside guest memory"),
            std::string::npos);
}

TEST_F(MigrationStreamTest, ZstdPageOfTheWrongSize) {
  GuestMemory mem(kBase, 4 * kPage);
  EXPECT_EQ(
      error_from(frame(2, pages_payload(1, zstd_record(1, std::vector<uint8_t>(4000, 'a')))), &mem),
      "migration stream: compressed page 1 decompresses to 4000 bytes, not 4096");
  TearDown();
  SetUp();
  EXPECT_EQ(
      error_from(frame(2, pages_payload(1, zstd_record(2, std::vector<uint8_t>(5000, 'a')))), &mem),
      "migration stream: compressed page 2 decompresses to more than 4096 bytes");
}

TEST_F(MigrationStreamTest, GarbageZstd) {
  GuestMemory mem(kBase, 4 * kPage);
  std::vector<uint8_t> r;
  put<uint64_t>(r, 0);
  put<uint8_t>(r, 2);
  put<uint32_t>(r, 100);
  for (int i = 0; i < 100; ++i) r.push_back(static_cast<uint8_t>(i * 37));
  EXPECT_NE(error_from(frame(2, pages_payload(1, r)), &mem)
                .find("migration stream: compressed page 0 is corrupt: "),
            std::string::npos);
  TearDown();
  SetUp();
  // A real frame cut short.
  auto cut = zstd_record(0, std::vector<uint8_t>(4096, 'b'));
  const uint32_t short_len = 5;
  std::memcpy(cut.data() + 9, &short_len, 4);
  cut.resize(13 + short_len);
  EXPECT_NE(error_from(frame(2, pages_payload(1, cut)), &mem).find("is corrupt"),
            std::string::npos);
}

TEST_F(MigrationStreamTest, CompressedLengthOutOfRange) {
  GuestMemory mem(kBase, 4 * kPage);
  std::vector<uint8_t> r;
  put<uint64_t>(r, 0);
  put<uint8_t>(r, 2);
  put<uint32_t>(r, 4096);
  r.resize(r.size() + 4096);
  EXPECT_EQ(error_from(frame(2, pages_payload(1, r)), &mem),
            "migration stream: compressed page 0 has length 4096 (1 to 4095 allowed)");
}

TEST_F(MigrationStreamTest, MalformedPagesMessages) {
  GuestMemory mem(kBase, 4 * kPage);
  std::vector<uint8_t> zero;  // one zero-page record for page 0
  put<uint64_t>(zero, 0);
  put<uint8_t>(zero, 0);
  struct Case {
    std::vector<uint8_t> payload;
    const char* error;
  };
  std::vector<uint8_t> unknown_encoding;
  put<uint64_t>(unknown_encoding, 1);
  put<uint8_t>(unknown_encoding, 3);
  std::vector<uint8_t> two_zero = zero;
  two_zero.insert(two_zero.end(), zero.begin(), zero.end());
  std::vector<uint8_t> short_raw;
  put<uint64_t>(short_raw, 0);
  put<uint8_t>(short_raw, 1);
  short_raw.resize(short_raw.size() + 100);
  const Case cases[] = {
      {pages_payload(0, {}), "migration stream: PAGES message with 0 pages (1 to 256 allowed)"},
      {pages_payload(257, zero),
       "migration stream: PAGES message with 257 pages (1 to 256 allowed)"},
      {pages_payload(1, unknown_encoding), "migration stream: page 1 has unknown encoding 3"},
      {pages_payload(2, zero), "migration stream: truncated PAGES message"},
      {pages_payload(1, two_zero), "migration stream: PAGES message has 9 bytes left over"},
      {pages_payload(1, short_raw), "migration stream: truncated PAGES message"},
      {{1, 0}, "migration stream: truncated PAGES message"},
  };
  for (const Case& c : cases) {
    TearDown();
    SetUp();
    EXPECT_EQ(error_from(frame(2, c.payload), &mem), c.error);
  }
}

TEST_F(MigrationStreamTest, UnknownMessageTypeAndFlags) {
  GuestMemory mem(kBase, 4 * kPage);
  EXPECT_EQ(error_from(frame(8, {}), &mem), "migration stream: unknown message type 0x8");
  TearDown();
  SetUp();
  EXPECT_EQ(error_from(frame(0x20544547, {}), &mem, false),  // "GET ": not a vessel peer
            "migration stream: unknown message type 0x20544547");
  TearDown();
  SetUp();
  EXPECT_EQ(error_from(frame(4, {}, 1), &mem),
            "migration stream: DONE message with unknown flags 0x1");
}

TEST_F(MigrationStreamTest, MessagesOutOfOrder) {
  GuestMemory mem(kBase, 4 * kPage);
  EXPECT_EQ(error_from(frame(4, {}), &mem, false), "migration stream: DONE message before HELLO");
  TearDown();
  SetUp();
  EXPECT_EQ(error_from(frame(1, hello_payload(kMigrationMagic, kVersion, kBase, mem.size())), &mem),
            "migration stream: a second HELLO");
  TearDown();
  SetUp();
  auto two_states = frame(3, {1});
  const auto again = frame(3, {2});
  two_states.insert(two_states.end(), again.begin(), again.end());
  EXPECT_EQ(error_from(two_states, &mem), "migration stream: a second STATE");
  TearDown();
  SetUp();
  auto after_done = frame(4, {});
  const auto state = frame(3, {1});
  after_done.insert(after_done.end(), state.begin(), state.end());
  EXPECT_EQ(error_from(after_done, &mem), "migration stream: STATE message after DONE");
  TearDown();
  SetUp();
  EXPECT_EQ(error_from(frame(7, {}), &mem, false), "migration stream: SYNC message before HELLO");
  TearDown();
  SetUp();
  auto sync_after_done = frame(4, {});
  const auto sync = frame(7, {});
  sync_after_done.insert(sync_after_done.end(), sync.begin(), sync.end());
  EXPECT_EQ(error_from(sync_after_done, &mem), "migration stream: SYNC message after DONE");
  TearDown();
  SetUp();
  EXPECT_EQ(error_from(frame(7, {1, 2, 3}), &mem),
            "migration stream: SYNC message of 3 bytes is over its limit of 0");
}

// A SYNC comes back as such once the pages before it are in memory; the
// source then hears READY from the destination (receive_vm's answer).
TEST_F(MigrationStreamTest, SyncFollowsThePagesBeforeIt) {
  GuestMemory src(kBase, 8 * kPage);
  std::mt19937_64 rng(5);
  src.prepare_write(kBase, src.size());
  for (uint64_t page = 0; page < src.pages(); ++page)
    fill_text(src.host_base() + page * kPage, rng);
  GuestMemory dst(kBase, src.size());
  MigrationSender tx(source());
  MigrationReceiver rx(destination());
  tx.send_hello(hello_for(src));
  ASSERT_EQ(rx.next(&dst), Kind::kHello);
  tx.send_pages(src, all_pages(src));
  tx.send_sync();
  ASSERT_EQ(rx.next(&dst), Kind::kPages);
  ASSERT_EQ(rx.next(&dst), Kind::kSync);
  EXPECT_EQ(std::memcmp(src.host_base(), dst.host_base(), src.size()), 0);
}

TEST_F(MigrationStreamTest, PeerClosesMidMessage) {
  GuestMemory src(kBase, 16 * kPage);
  std::mt19937_64 rng(3);
  for (uint64_t page = 0; page < 16; ++page) {
    src.prepare_write(kBase + page * kPage, kPage);
    fill_random(src.host_base() + page * kPage, rng);
  }
  // Capture a real PAGES message, then deliver only part of it.
  int capture[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, capture), 0);
  {
    MigrationSender tx(capture[0]);
    tx.send_pages(src, all_pages(src));
  }
  std::vector<uint8_t> message(16 + 4 + 16 * (9 + kPage));
  ASSERT_EQ(::recv(capture[1], message.data(), message.size(), MSG_WAITALL),
            static_cast<ssize_t>(message.size()));
  ::close(capture[0]);
  ::close(capture[1]);
  message.resize(16 + 4 + 3 * (9 + kPage) + 100);
  EXPECT_EQ(error_from(message, &src),
            "migration stream: truncated PAGES message (connection closed by the source after "
            "12419 of 65684 bytes)");
}

// Not a test of speed: prints what pre-copy costs per kind of page, and
// compares zstd levels.
TEST_F(MigrationStreamTest, MeasureThroughput) {
  constexpr uint64_t kSize = 64ull << 20;
  struct Run {
    const char* what;
    int fill;  // 0 zero, 1 text, 2 random
    int level;
    bool tls = false;  // TLS 1.3 with a pre-shared key instead of plain TCP
  };
  const Run runs[] = {{"zero pages", 0, 1},       {"text pages", 1, 1},
                      {"text pages", 1, -1},      {"text pages", 1, -5},
                      {"random pages", 2, 1},     {"random pages", 2, -1},
                      {"text pages", 1, 1, true}, {"random pages", 2, 1, true}};
  MigrationSecurity key;
  parse_psk("000102030405060708090a0b0c0d0e0f", "test", key);
  for (const Run& run : runs) {
    TearDown();
    SetUp();
    GuestMemory src(kBase, kSize);
    std::mt19937_64 rng(4);
    if (run.fill != 0) {
      src.prepare_write(kBase, kSize);
      for (uint64_t page = 0; page < src.pages(); ++page) {
        uint8_t* p = src.host_base() + page * kPage;
        run.fill == 1 ? fill_text(p, rng) : fill_random(p, rng);
      }
    }
    const auto pages = all_pages(src);
    const auto start = std::chrono::steady_clock::now();
    std::unique_ptr<MigrationChannel> server, client;
    if (run.tls) {
      std::thread handshake([&] {
        server = open_migration_channel(destination(), key, TlsRole::kServer, "", "source");
      });
      client = open_migration_channel(source(), key, TlsRole::kClient, "", "destination");
      handshake.join();
    } else {
      server = plain_channel(destination());
      client = plain_channel(source());
    }
    Destination dst;
    std::thread rx([&] { dst.run(*server); });
    MigrationSender tx(*client, run.level);
    tx.send_hello(hello_for(src));
    tx.send_pages(src, pages);
    tx.send_done();
    MigrationReceiver back(*client, "destination");
    back.next(nullptr);
    rx.join();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_EQ(dst.error, "");
    ASSERT_EQ(std::memcmp(src.host_base(), dst.memory->host_base(), kSize), 0);
    std::printf(
        "[ measure  ] 64 MiB of %-12s zstd level %2d%s: %6.3f s, %7.0f MiB/s of RAM, %6.2f MiB "
        "on the wire (%llu zero, %llu zstd, %llu raw)\n",
        run.what, run.level, run.tls ? " TLS" : "    ", seconds, 64 / seconds,
        tx.stats().bytes_on_wire / 1048576.0,
        static_cast<unsigned long long>(tx.stats().zero_pages),
        static_cast<unsigned long long>(tx.stats().compressed_pages),
        static_cast<unsigned long long>(tx.stats().raw_pages));
  }
}

}  // namespace
}  // namespace vessel
