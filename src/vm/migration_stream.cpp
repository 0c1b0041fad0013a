#include "vm/migration_stream.hpp"

#include <zstd_errors.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

#include "base/error.hpp"
#include "vm/memory_file.hpp"

namespace vessel {

// Fields are copied in host byte order; the wire is little-endian.
static_assert(std::endian::native == std::endian::little);

namespace {

constexpr uint64_t kPage = GuestMemory::kPageSize;
constexpr size_t kHeaderBytes = 16;

constexpr uint8_t kEncodingZero = 0;
constexpr uint8_t kEncodingRaw = 1;
constexpr uint8_t kEncodingZstd = 2;

// The fixed part of a HELLO: magic, version, base, size, cpus, config length.
constexpr uint64_t kHelloFixedBytes = 8 + 4 + 8 + 8 + 4 + 4;
// Larger than a version-1 HELLO needs, so that a later version's (longer)
// HELLO still reaches the version check and gets the clearer error.
constexpr uint64_t kMaxHelloBytes = 256 << 10;
// The largest page record: index, encoding, raw page. A zstd record is
// smaller, since zstd is used only when the page shrinks.
constexpr uint64_t kMaxPageRecordBytes = 8 + 1 + kPage;
constexpr uint64_t kMaxPagesBytes = 4 + kMigrationPagesPerBatch * kMaxPageRecordBytes;
// A payload is read in pieces of at most this much, so what is allocated
// follows what has arrived, not what the header claims.
constexpr uint64_t kReadChunk = 1 << 20;

// Whether the bytes of `page` are spread so evenly over the 256 values that
// zstd will not shrink it (random, encrypted or already compressed data):
// the sum of the squared byte counts is then close to what uniform noise
// gives, 4096 + 4096^2 / 256 = 69632, while text, code and kernel data sit
// far above it. Trying zstd on such a page costs ~7 us (27 under load), five
// times copying it; this look costs ~1 us. (btrfs decides whether to compress
// from the byte distribution the same way.) In the busy benchmark guest's
// RAM (20586 pages with data, 2918 of them compressible) no page zstd could
// shrink scored under 110000, and none it could not over 70000. A page it
// would shrink a little (noise over 200 byte values) may go raw: that costs
// bandwidth, never correctness.
constexpr uint32_t kNoiseScore = 90112;

bool looks_incompressible(const uint8_t* page) {
  // Four tables, so that runs of one byte do not serialise on one counter.
  uint16_t counts[4][256] = {};
  for (uint64_t i = 0; i < kPage; i += 4) {
    ++counts[0][page[i]];
    ++counts[1][page[i + 1]];
    ++counts[2][page[i + 2]];
    ++counts[3][page[i + 3]];
  }
  uint32_t score = 0;
  for (unsigned v = 0; v < 256; ++v) {
    const uint32_t c = counts[0][v] + counts[1][v] + counts[2][v] + counts[3][v];
    score += c * c;
  }
  return score < kNoiseScore;
}

const char* type_name(uint32_t type) {
  switch (static_cast<MigrationMessage>(type)) {
    case MigrationMessage::kHello: return "HELLO";
    case MigrationMessage::kPages: return "PAGES";
    case MigrationMessage::kState: return "STATE";
    case MigrationMessage::kDone: return "DONE";
    case MigrationMessage::kReady: return "READY";
    case MigrationMessage::kError: return "ERROR";
    case MigrationMessage::kSync: return "SYNC";
  }
  return "unknown";
}

// The largest payload a message of `type` may have; 0 for an unknown type
// (checked separately).
uint64_t max_payload(uint32_t type) {
  switch (static_cast<MigrationMessage>(type)) {
    case MigrationMessage::kHello: return kMaxHelloBytes;
    case MigrationMessage::kPages: return kMaxPagesBytes;
    case MigrationMessage::kState: return kMigrationMaxStateBytes;
    case MigrationMessage::kDone: return 0;
    case MigrationMessage::kReady: return 0;
    case MigrationMessage::kError: return kMigrationMaxErrorBytes;
    case MigrationMessage::kSync: return 0;
  }
  return 0;
}

bool known_type(uint32_t type) {
  return type >= static_cast<uint32_t>(MigrationMessage::kHello) &&
         type <= static_cast<uint32_t>(MigrationMessage::kSync);
}

template <typename T>
void put(std::vector<uint8_t>& out, T value) {
  const size_t at = out.size();
  out.resize(at + sizeof value);
  std::memcpy(out.data() + at, &value, sizeof value);
}

// Bounds-checked reads from one received payload.
class Cursor {
 public:
  Cursor(std::span<const uint8_t> data, const char* what) : data_(data), what_(what) {}

  template <typename T>
  T get() {
    T value;
    std::memcpy(&value, take(sizeof value).data(), sizeof value);
    return value;
  }
  std::span<const uint8_t> take(uint64_t n) {
    if (n > data_.size() - pos_) fail("migration stream: truncated {} message", what_);
    const auto out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  uint64_t remaining() const { return data_.size() - pos_; }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  const char* what_;
};

void send_message_to(MigrationChannel& channel, MigrationMessage type,
                     std::span<const uint8_t> payload, uint64_t& bytes_on_wire) {
  uint8_t header[kHeaderBytes];
  const uint32_t type_value = static_cast<uint32_t>(type);
  const uint32_t flags = 0;
  const uint64_t length = payload.size();
  std::memcpy(header, &type_value, 4);
  std::memcpy(header + 4, &flags, 4);
  std::memcpy(header + 8, &length, 8);
  const std::span<const uint8_t> pieces[2] = {{header, kHeaderBytes}, payload};
  channel.send(pieces);
  // What the stream carried (TLS adds its record overhead below this).
  bytes_on_wire += kHeaderBytes + payload.size();
}

}  // namespace

// ---- sender ----

MigrationSender::MigrationSender(int fd, int zstd_level)
    : MigrationSender(plain_channel(fd), zstd_level) {}

MigrationSender::MigrationSender(std::unique_ptr<MigrationChannel> own, int zstd_level)
    : MigrationSender(*own, zstd_level) {
  own_channel_ = std::move(own);
}

MigrationSender::MigrationSender(MigrationChannel& channel, int zstd_level)
    : channel_(channel), zstd_level_(zstd_level), cctx_(ZSTD_createCCtx()) {
  if (!cctx_) fail("migration stream: cannot create a zstd compression context");
  // Uninitialised: every byte sent is written first.
  batch_ = std::make_unique_for_overwrite<uint8_t[]>(kMaxPagesBytes);
  compressed_.resize(ZSTD_compressBound(kPage));
}

void MigrationSender::send_message(MigrationMessage type, std::span<const uint8_t> payload) {
  send_message_to(channel_, type, payload, stats_.bytes_on_wire);
}

void MigrationSender::send_hello(const MigrationHello& hello) {
  if (hello.config.size() > kMigrationMaxConfigBytes) {
    fail("migration stream: VM configuration of {} bytes is over the {} byte limit",
         hello.config.size(), kMigrationMaxConfigBytes);
  }
  std::vector<uint8_t> payload;
  payload.reserve(kHelloFixedBytes + hello.config.size());
  put<uint64_t>(payload, kMigrationMagic);
  put<uint32_t>(payload, hello.version);
  put<uint64_t>(payload, hello.memory_base);
  put<uint64_t>(payload, hello.memory_size);
  put<uint32_t>(payload, hello.cpus);
  put<uint32_t>(payload, static_cast<uint32_t>(hello.config.size()));
  payload.insert(payload.end(), hello.config.begin(), hello.config.end());
  send_message(MigrationMessage::kHello, payload);
}

void MigrationSender::send_pages(const GuestMemory& memory,
                                 std::span<const uint64_t> page_indexes) {
  batch_count_ = 0;
  batch_len_ = 4;  // the count, filled in by flush_batch
  for (const uint64_t index : page_indexes) {
    if (index >= memory.pages()) {
      fail("migration stream: page index {} outside guest memory ({} pages)", index,
           memory.pages());
    }
    append_page(memory, index);
    if (batch_count_ == kMigrationPagesPerBatch) flush_batch();
  }
  if (batch_count_ != 0) flush_batch();
}

void MigrationSender::append_page(const GuestMemory& memory, uint64_t index) {
  ++batch_count_;
  ++stats_.pages;
  append(index);
  // The guest may be writing this page right now (pre-copy rounds run while
  // it runs). It is copied once, into the batch as a raw record, and that
  // copy is what is checked for zero, compressed or sent, so the record is
  // consistent with itself; a page torn by a concurrent write is dirty and
  // goes again.
  const size_t record = batch_len_;
  uint8_t* page = batch_.get() + record + 1;
  memory.read(memory.base() + index * kPage, {page, kPage});
  if (is_zero_page(page)) {
    ++stats_.zero_pages;
    batch_len_ = record;
    append(kEncodingZero);
    return;
  }
  // A page that looks like noise goes raw without trying zstd; so does every
  // page while compression is off.
  if (compress_ && !looks_incompressible(page)) {
    const size_t n = ZSTD_compressCCtx(cctx_.get(), compressed_.data(), compressed_.size(), page,
                                       kPage, zstd_level_);
    // Worth it only if the length field plus the frame is smaller than the page.
    if (!ZSTD_isError(n) && n + 4 < kPage) {
      ++stats_.compressed_pages;
      batch_len_ = record;
      append(kEncodingZstd);
      append(static_cast<uint32_t>(n));
      std::memcpy(batch_.get() + batch_len_, compressed_.data(), n);
      batch_len_ += n;
      return;
    }
  }
  ++stats_.raw_pages;
  batch_[record] = kEncodingRaw;
  batch_len_ = record + 1 + kPage;
}

void MigrationSender::flush_batch() {
  std::memcpy(batch_.get(), &batch_count_, 4);
  send_message(MigrationMessage::kPages, {batch_.get(), batch_len_});
  batch_count_ = 0;
  batch_len_ = 4;
}

void MigrationSender::send_state(std::span<const uint8_t> blob) {
  if (blob.size() > kMigrationMaxStateBytes) {
    fail("migration stream: VM state of {} bytes is over the {} byte limit", blob.size(),
         kMigrationMaxStateBytes);
  }
  send_message(MigrationMessage::kState, blob);
}

void MigrationSender::send_done() {
  send_message(MigrationMessage::kDone, {});
}

void MigrationSender::send_error(std::string_view message) {
  message = message.substr(0, kMigrationMaxErrorBytes);
  send_message(MigrationMessage::kError,
               {reinterpret_cast<const uint8_t*>(message.data()), message.size()});
}

void MigrationSender::send_ready() {
  send_message(MigrationMessage::kReady, {});
}

void MigrationSender::send_sync() {
  send_message(MigrationMessage::kSync, {});
}

void send_ready(int fd) {
  MigrationSender(fd).send_ready();
}

// ---- receiver ----

MigrationReceiver::MigrationReceiver(int fd, std::string peer)
    : MigrationReceiver(plain_channel(fd), std::move(peer)) {}

MigrationReceiver::MigrationReceiver(std::unique_ptr<MigrationChannel> own, std::string peer)
    : MigrationReceiver(*own, std::move(peer)) {
  own_channel_ = std::move(own);
}

MigrationReceiver::MigrationReceiver(MigrationChannel& channel, std::string peer)
    : channel_(channel), peer_(std::move(peer)), dctx_(ZSTD_createDCtx()) {
  if (!dctx_) fail("migration stream: cannot create a zstd decompression context");
}

bool MigrationReceiver::read_exact(uint8_t* out, uint64_t len, std::string_view what, bool eof_ok,
                                   uint64_t before, uint64_t total) {
  uint64_t got = 0;
  while (got < len) {
    const ssize_t n = channel_.receive(out + got, len - got);
    if (n > 0) {
      got += static_cast<uint64_t>(n);
      stats_.bytes_on_wire += static_cast<uint64_t>(n);
      continue;
    }
    if (n == 0) {
      if (got == 0 && eof_ok) return false;
      fail("migration stream: truncated {} (connection closed by the {} after {} of {} bytes)",
           what, peer_, before + got, total == 0 ? len : total);
    }
    const int err = static_cast<int>(-n);
    if (err == EAGAIN || err == EWOULDBLOCK) {
      fail("migration stream: timed out waiting for the {}", peer_);
    }
    if (err == ECONNRESET) fail("migration stream: connection reset by the {}", peer_);
    fail("migration stream: receive failed: {}", errno_text(err));
  }
  return true;
}

void MigrationReceiver::read_payload(uint64_t len, std::string_view what) {
  payload_.clear();
  uint64_t got = 0;
  while (got < len) {
    const uint64_t piece = std::min(len - got, kReadChunk);
    payload_.resize(got + piece);
    read_exact(payload_.data() + got, piece, what, /*eof_ok=*/false, got, len);
    got += piece;
  }
}

MigrationReceiver::Kind MigrationReceiver::next(GuestMemory* memory) {
  uint8_t header[kHeaderBytes];
  if (!read_exact(header, kHeaderBytes, "message header", /*eof_ok=*/true)) {
    fail("migration stream: connection closed by the {}", peer_);
  }
  uint32_t type;
  uint32_t flags;
  uint64_t length;
  std::memcpy(&type, header, 4);
  std::memcpy(&flags, header + 4, 4);
  std::memcpy(&length, header + 8, 8);
  if (!known_type(type)) fail("migration stream: unknown message type {:#x}", type);
  const char* name = type_name(type);
  if (flags != 0) fail("migration stream: {} message with unknown flags {:#x}", name, flags);
  if (length > max_payload(type)) {
    fail("migration stream: {} message of {} bytes is over its limit of {}", name, length,
         max_payload(type));
  }
  const auto kind = static_cast<MigrationMessage>(type);
  if (kind == MigrationMessage::kPages || kind == MigrationMessage::kState ||
      kind == MigrationMessage::kDone || kind == MigrationMessage::kSync) {
    if (!have_hello_) fail("migration stream: {} message before HELLO", name);
    if (done_) fail("migration stream: {} message after DONE", name);
  }
  if (kind == MigrationMessage::kHello && have_hello_) fail("migration stream: a second HELLO");
  if (kind == MigrationMessage::kState && have_state_) fail("migration stream: a second STATE");
  if (kind == MigrationMessage::kPages && memory == nullptr) {
    fail("migration stream: unexpected PAGES message");
  }
  read_payload(length, fmt::format("{} message", name));

  switch (kind) {
    case MigrationMessage::kHello:
      parse_hello(memory);
      have_hello_ = true;
      return Kind::kHello;
    case MigrationMessage::kPages: apply_pages(*memory); return Kind::kPages;
    case MigrationMessage::kState:
      state_.assign(payload_.begin(), payload_.end());
      payload_ = {};
      have_state_ = true;
      return Kind::kState;
    case MigrationMessage::kDone: done_ = true; return Kind::kDone;
    case MigrationMessage::kReady: return Kind::kReady;
    case MigrationMessage::kSync: return Kind::kSync;
    case MigrationMessage::kError:
      error_.assign(reinterpret_cast<const char*>(payload_.data()), payload_.size());
      return Kind::kError;
  }
  fail("migration stream: unknown message type {:#x}", type);  // unreachable: known_type
}

void MigrationReceiver::parse_hello(const GuestMemory* memory) {
  Cursor in(payload_, "HELLO");
  const auto magic = in.get<uint64_t>();
  if (magic != kMigrationMagic) {
    fail("migration stream: not a vessel migration stream (magic {:#018x})", magic);
  }
  MigrationHello hello;
  hello.version = in.get<uint32_t>();
  if (hello.version != kMigrationProtocolVersion) {
    fail("migration stream: the source speaks protocol version {}, this vessel speaks {}",
         hello.version, kMigrationProtocolVersion);
  }
  hello.memory_base = in.get<uint64_t>();
  hello.memory_size = in.get<uint64_t>();
  hello.cpus = in.get<uint32_t>();
  const auto config_len = in.get<uint32_t>();
  if (config_len > kMigrationMaxConfigBytes) {
    fail("migration stream: VM configuration of {} bytes is over the {} byte limit", config_len,
         kMigrationMaxConfigBytes);
  }
  const auto config = in.take(config_len);
  hello.config.assign(reinterpret_cast<const char*>(config.data()), config.size());
  if (in.remaining() != 0) fail("migration stream: HELLO has {} bytes left over", in.remaining());

  const uint64_t base = hello.memory_base;
  const uint64_t size = hello.memory_size;
  if (size == 0 || ((base | size) & (kPage - 1)) != 0 || base + size < base) {
    fail("migration stream: the source's guest memory {:#x}+{:#x} is empty, unaligned or wraps",
         base, size);
  }
  if (hello.cpus == 0) fail("migration stream: the source has no CPUs");
  if (memory != nullptr && (memory->base() != base || memory->size() != size)) {
    fail(
        "migration stream: the source's guest memory is {} MiB at {:#x}, this VM has {} MiB at "
        "{:#x}",
        size >> 20, base, memory->size() >> 20, memory->base());
  }
  hello_ = std::move(hello);
}

bool MigrationReceiver::written(uint64_t index) const {
  return index / 64 < written_.size() && (written_[index / 64] >> (index % 64) & 1) != 0;
}

void MigrationReceiver::set_written(uint64_t index, bool value) {
  if (written_.size() <= index / 64) written_.resize(index / 64 + 1);
  const uint64_t bit = uint64_t{1} << (index % 64);
  written_[index / 64] = value ? written_[index / 64] | bit : written_[index / 64] & ~bit;
}

void MigrationReceiver::apply_pages(GuestMemory& memory) {
  Cursor in(payload_, "PAGES");
  const auto count = in.get<uint32_t>();
  if (count == 0 || count > kMigrationPagesPerBatch) {
    fail("migration stream: PAGES message with {} pages (1 to {} allowed)", count,
         kMigrationPagesPerBatch);
  }
  alignas(64) uint8_t page[kPage];
  for (uint32_t i = 0; i < count; ++i) {
    const auto index = in.get<uint64_t>();
    if (index >= memory.pages()) {
      fail("migration stream: page index {} outside guest memory ({} pages)", index,
           memory.pages());
    }
    const uint64_t gpa = memory.base() + index * kPage;
    const auto encoding = in.get<uint8_t>();
    ++stats_.pages;
    switch (encoding) {
      case kEncodingZero: {
        ++stats_.zero_pages;
        // A page this stream has not written still reads as zero (memory
        // was zero when it began) and is not touched at all: looking at it
        // would cost a page fault each, most of round 1 on a mostly empty
        // guest. One it wrote is discarded, which reads as zero too.
        if (written(index)) {
          memory.discard(gpa, kPage);
          set_written(index, false);
        }
        break;
      }
      case kEncodingRaw:
        ++stats_.raw_pages;
        memory.write(gpa, in.take(kPage));
        set_written(index, true);
        break;
      case kEncodingZstd: {
        ++stats_.compressed_pages;
        const auto len = in.get<uint32_t>();
        if (len == 0 || len >= kPage) {
          fail("migration stream: compressed page {} has length {} (1 to {} allowed)", index, len,
               kPage - 1);
        }
        const auto frame = in.take(len);
        const size_t n = ZSTD_decompressDCtx(dctx_.get(), page, kPage, frame.data(), frame.size());
        if (ZSTD_isError(n)) {
          if (ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall) {
            fail("migration stream: compressed page {} decompresses to more than {} bytes", index,
                 kPage);
          }
          fail("migration stream: compressed page {} is corrupt: {}", index, ZSTD_getErrorName(n));
        }
        if (n != kPage) {
          fail("migration stream: compressed page {} decompresses to {} bytes, not {}", index, n,
               kPage);
        }
        memory.write(gpa, {page, kPage});
        set_written(index, true);
        break;
      }
      default: fail("migration stream: page {} has unknown encoding {}", index, encoding);
    }
  }
  if (in.remaining() != 0) {
    fail("migration stream: PAGES message has {} bytes left over", in.remaining());
  }
}

}  // namespace vessel
