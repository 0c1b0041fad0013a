// The live-migration wire format, over a connected, blocking stream socket
// (plain TCP or TLS: see migration_channel.hpp).
//
// Every message is a 16-byte header, then the payload, all little-endian:
//   u32 type, u32 flags (0), u64 payload length, payload
// Payloads by type:
//   HELLO  (1)  u64 magic "VESSELMG", u32 protocol version, u64 memory base,
//               u64 memory size, u32 cpus, u32 config length, config bytes
//               (the source's VM configuration as JSON, at most 64 KiB)
//   PAGES  (2)  u32 count (1..256), then per page: u64 page index, u8 encoding,
//               then for encoding 0 (zero page) nothing, 1 (raw) 4096 bytes,
//               2 (zstd) u32 compressed length (1..4095) and the zstd frame,
//               which must decompress to exactly 4096 bytes
//   STATE  (3)  the device and CPU state blob (base/state), at most 64 MiB
//   DONE   (4)  empty: the source has sent everything
//   READY  (5)  empty, sent back to the source: after HELLO, the destination
//               accepts the VM (it fits; memory is reserved); after SYNC, it
//               has applied everything before it; after DONE, it runs it.
//               The source's READY after that commits.
//   SYNC   (7)  empty: answer READY once everything before this is applied.
//               The source syncs after each pre-copy round, so that it times
//               rounds end to end (not until its socket buffers took them)
//               and stops the VM with nothing in flight: megabytes queued
//               in the sockets would otherwise drain inside the downtime
//   ERROR  (6)  a message for the other side's user, at most 4 KiB. A
//               destination sends only generic ones ("incompatible VM
//               description"); the details go to its own log
//
// The conversation (protocol version 3):
//   source: HELLO                 destination: READY or ERROR
//   source: PAGES..., SYNC        destination: READY (once per round)
//   source: PAGES..., STATE, DONE destination: READY (running) or ERROR
//   source: READY (commit)
// Either side may send ERROR instead of its next message and close.
//
// The stream comes from the network, so it is hostile input: the reader
// checks each payload length against its type's limit before reading it, and
// every field before using it. Anything malformed is one Error line starting
// "migration stream:".
#pragma once

#include <zstd.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "memory/guest_memory.hpp"
#include "vm/migration_channel.hpp"

namespace vessel {

inline constexpr uint64_t kMigrationMagic = 0x474d'4c45'5353'4556;  // "VESSELMG" little-endian
inline constexpr uint32_t kMigrationProtocolVersion = 3;
inline constexpr uint32_t kMigrationPagesPerBatch = 256;
inline constexpr uint64_t kMigrationMaxConfigBytes = 64 << 10;
inline constexpr uint64_t kMigrationMaxStateBytes = 64ull << 20;
inline constexpr uint64_t kMigrationMaxErrorBytes = 4 << 10;

enum class MigrationMessage : uint32_t {
  kHello = 1,
  kPages = 2,
  kState = 3,
  kDone = 4,
  kReady = 5,
  kError = 6,
  kSync = 7,
};

struct MigrationHello {
  uint32_t version = kMigrationProtocolVersion;
  uint64_t memory_base = 0;
  uint64_t memory_size = 0;
  uint32_t cpus = 0;
  std::string config;  // JSON text, opaque here
};

// Counted by both ends: pages by encoding, and every byte of every message
// (headers included) that crossed the socket.
struct StreamStats {
  uint64_t pages = 0;
  uint64_t zero_pages = 0;
  uint64_t raw_pages = 0;
  uint64_t compressed_pages = 0;
  uint64_t bytes_on_wire = 0;
};

// An allocator whose resize() leaves new bytes uninitialised: a received
// payload is read over them anyway, and zeroing a megabyte per PAGES
// message first cost about as much as a copy of it.
template <typename T>
struct UninitializedAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

struct ZstdContextDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

class MigrationSender {
 public:
  // Level 1 is the default: on guest-like pages it compresses much better
  // than the negative (faster) levels at nearly the same speed; see
  // test_migration_stream's throughput log.
  static constexpr int kDefaultZstdLevel = 1;

  // `channel` stays the caller's. A failed send (peer gone, SO_SNDTIMEO
  // expired) throws Error.
  explicit MigrationSender(MigrationChannel& channel, int zstd_level = kDefaultZstdLevel);
  // Plain TCP over `fd`, which stays the caller's.
  explicit MigrationSender(int fd, int zstd_level = kDefaultZstdLevel);

  void send_hello(const MigrationHello& hello);
  // Sends the pages at `page_indexes` (page i is guest-physical base + i *
  // 4096) in batches of up to 256. Each page is copied out of guest memory
  // first, since the guest may be writing it; zero pages go as encoding 0,
  // pages zstd shrinks as encoding 2, the rest raw (a page whose bytes look
  // like noise is not offered to zstd at all). An index outside `memory`
  // throws Error.
  void send_pages(const GuestMemory& memory, std::span<const uint64_t> page_indexes);
  // Whether send_pages tries zstd (the default). Off for the pages sent while
  // the guest is stopped: that stop is bound by latency, not bandwidth, and
  // compressing a page costs more than sending its 4 KiB raw over loopback
  // or a LAN.
  void set_compression(bool on) { compress_ = on; }
  void send_state(std::span<const uint8_t> blob);
  void send_done();
  void send_ready();
  // Asks the destination to answer READY once it has applied everything
  // sent so far.
  void send_sync();
  // `message` is cut to 4 KiB.
  void send_error(std::string_view message);

  const StreamStats& stats() const { return stats_; }

 private:
  MigrationSender(std::unique_ptr<MigrationChannel> own, int zstd_level);
  void append_page(const GuestMemory& memory, uint64_t index);
  // Appends a field to the batch (which has room for a whole PAGES payload).
  template <typename T>
  void append(T value) {
    std::memcpy(batch_.get() + batch_len_, &value, sizeof value);
    batch_len_ += sizeof value;
  }
  void flush_batch();
  void send_message(MigrationMessage type, std::span<const uint8_t> payload);

  std::unique_ptr<MigrationChannel> own_channel_;  // the fd constructor's
  MigrationChannel& channel_;
  int zstd_level_;
  bool compress_ = true;
  std::unique_ptr<ZSTD_CCtx, ZstdContextDeleter> cctx_;
  std::unique_ptr<uint8_t[]> batch_;  // PAGES payload being built: kMaxPagesBytes
  size_t batch_len_ = 0;
  uint32_t batch_count_ = 0;
  std::vector<uint8_t> compressed_;
  StreamStats stats_;
};

class MigrationReceiver {
 public:
  enum class Kind { kHello, kPages, kState, kDone, kReady, kError, kSync };

  // `channel` stays the caller's. `peer` names the other side in errors
  // ("connection closed by the source"). Set SO_RCVTIMEO on its socket so a
  // silent peer ends in an Error, not a hang.
  explicit MigrationReceiver(MigrationChannel& channel, std::string peer = "source");
  // Plain TCP over `fd`, which stays the caller's.
  explicit MigrationReceiver(int fd, std::string peer = "source");

  // Reads one whole message and returns its kind. A HELLO is checked (magic,
  // version, a page-aligned memory range) and, if `memory` is given, must
  // match its layout. A PAGES message needs `memory`, which must read as zero
  // when the stream begins (a fresh GuestMemory): each page index must be
  // below memory->pages(), and each page is written into it (a zero page
  // this stream wrote before is discarded; one it did not is left alone, so
  // zero pages cost no host memory and no page fault). PAGES, STATE and DONE before the
  // HELLO, a second HELLO or STATE, or anything after DONE is an Error.
  // Throws Error for a malformed message, a closed connection or a timeout.
  Kind next(GuestMemory* memory);

  const MigrationHello& hello() const { return hello_; }
  // The STATE payload received; empty if none (or taken already).
  std::vector<uint8_t> take_state() { return std::move(state_); }
  // The text of the last ERROR message.
  const std::string& error() const { return error_; }
  const StreamStats& stats() const { return stats_; }

 private:
  MigrationReceiver(std::unique_ptr<MigrationChannel> own, std::string peer);
  // Reads exactly `len` bytes; false only if the peer closed the connection
  // before the first byte and `eof_ok`. `before` and `total` place the
  // piece in its message for the "truncated" error.
  bool read_exact(uint8_t* out, uint64_t len, std::string_view what, bool eof_ok,
                  uint64_t before = 0, uint64_t total = 0);
  void read_payload(uint64_t len, std::string_view what);
  void parse_hello(const GuestMemory* memory);
  void apply_pages(GuestMemory& memory);
  // Pages this stream has written with data, one bit each.
  bool written(uint64_t index) const;
  void set_written(uint64_t index, bool value);

  std::unique_ptr<MigrationChannel> own_channel_;  // the fd constructor's
  MigrationChannel& channel_;
  std::string peer_;
  std::unique_ptr<ZSTD_DCtx, ZstdContextDeleter> dctx_;
  std::vector<uint8_t, UninitializedAllocator<uint8_t>> payload_;
  MigrationHello hello_;
  bool have_hello_ = false;
  bool have_state_ = false;
  bool done_ = false;
  std::vector<uint8_t> state_;
  std::vector<uint64_t> written_;
  std::string error_;
  StreamStats stats_;
};

// READY over plain TCP (tests).
void send_ready(int fd);

}  // namespace vessel
