#include "vm/replay_log.hpp"

#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "base/error.hpp"
#include "vm/elf_loader.hpp"

namespace vessel::replay {

namespace {

constexpr char kMagic[8] = {'V', 'S', 'L', 'R', 'E', 'P', 'L', 'Y'};
constexpr uint32_t kBlockMagic = 0x4b4c4252;  // "RBLK"
constexpr size_t kBlockHeader = 4 + 4 + 4 + 8;
constexpr int kZstdLevel = 3;

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put_u64(std::vector<uint8_t>& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
uint32_t get_u32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
void put_varint(std::vector<uint8_t>& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}
uint64_t block_checksum(uint32_t raw_len, uint32_t zstd_len, std::span<const uint8_t> z) {
  uint8_t lens[8];
  for (int i = 0; i < 4; ++i) lens[i] = static_cast<uint8_t>(raw_len >> (8 * i));
  for (int i = 0; i < 4; ++i) lens[4 + i] = static_cast<uint8_t>(zstd_len >> (8 * i));
  return XXH64(z.data(), z.size(), XXH64(lens, sizeof lens, 0));
}

}  // namespace

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::kConsole: return "console input";
    case Kind::kNet: return "network frame";
    case Kind::kDisk: return "disk completion";
    case Kind::kDiskDrain: return "disk completion (drained)";
    case Kind::kRng: return "randomness";
    case Kind::kConsoleRead: return "console read";
    case Kind::kCheckpoint: return "checkpoint";
    case Kind::kEnd: return "end";
  }
  return "unknown";
}

// ---- payloads ----

uint64_t Cursor::varint() {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    const uint8_t b = u8();
    if (shift == 63 && b > 1) throw LogError("varint overflows 64 bits");
    v |= uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) return v;
  }
  throw LogError("varint longer than 10 bytes");
}

int64_t Cursor::svarint() {
  const uint64_t z = varint();
  return static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
}

uint8_t Cursor::u8() {
  if (pos_ >= bytes_.size()) throw LogError("record payload ends early");
  return bytes_[pos_++];
}

uint64_t Cursor::u64() {
  const auto b = bytes(8);
  return get_u64(b.data());
}

std::span<const uint8_t> Cursor::bytes(uint64_t n) {
  if (n > remaining()) throw LogError("record payload ends early");
  const auto out = bytes_.subspan(pos_, n);
  pos_ += n;
  return out;
}

std::span<const uint8_t> Cursor::rest() {
  return bytes(remaining());
}

void PayloadWriter::varint(uint64_t v) {
  put_varint(out_, v);
}
void PayloadWriter::svarint(int64_t v) {
  varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}
void PayloadWriter::u64(uint64_t v) {
  put_u64(out_, v);
}

std::vector<uint8_t> encode_disk(uint64_t disk, std::span<const DiskCompletion> done) {
  PayloadWriter w;
  w.varint(disk);
  w.varint(done.size());
  for (const DiskCompletion& c : done) {
    w.varint(c.tag);
    w.svarint(c.result);
    w.varint(c.data.size());
    w.bytes(c.data);
  }
  return std::move(w.data());
}

std::vector<DiskCompletion> decode_disk(std::span<const uint8_t> payload, uint64_t& disk) {
  Cursor c(payload);
  disk = c.varint();
  const uint64_t count = c.varint();
  // Each completion takes three bytes at least: a count beyond that is a lie.
  if (count > c.remaining() / 3) throw LogError("disk record: bad completion count");
  std::vector<DiskCompletion> out(count);
  for (DiskCompletion& d : out) {
    d.tag = c.varint();
    d.result = c.svarint();
    const auto data = c.bytes(c.varint());
    d.data.assign(data.begin(), data.end());
  }
  if (!c.at_end()) throw LogError("disk record: trailing bytes");
  return out;
}

std::vector<uint8_t> encode_checkpoint(const Checkpoint& cp) {
  PayloadWriter w;
  w.varint(cp.parts.size());
  for (const auto& p : cp.parts) {
    w.varint(p.name.size());
    w.bytes({reinterpret_cast<const uint8_t*>(p.name.data()), p.name.size()});
    w.u64(p.hash);
  }
  w.varint(cp.pcs.size());
  for (uint64_t pc : cp.pcs) w.u64(pc);
  w.varint(cp.console_bytes);
  w.u64(cp.console_hash);
  w.varint(cp.net_frames);
  w.u64(cp.net_hash);
  return std::move(w.data());
}

Checkpoint decode_checkpoint(std::span<const uint8_t> payload) {
  Cursor c(payload);
  Checkpoint cp;
  const uint64_t parts = c.varint();
  if (parts > 64) throw LogError("checkpoint: too many parts");
  for (uint64_t i = 0; i < parts; ++i) {
    const uint64_t len = c.varint();
    if (len > 64) throw LogError("checkpoint: part name too long");
    const auto name = c.bytes(len);
    Checkpoint::Part p;
    p.name.assign(name.begin(), name.end());
    for (char& ch : p.name) {
      if (ch < 0x20 || ch > 0x7e) ch = '?';  // it ends up in a message
    }
    p.hash = c.u64();
    cp.parts.push_back(std::move(p));
  }
  const uint64_t harts = c.varint();
  if (harts > 64) throw LogError("checkpoint: too many harts");
  for (uint64_t i = 0; i < harts; ++i) cp.pcs.push_back(c.u64());
  cp.console_bytes = c.varint();
  cp.console_hash = c.u64();
  cp.net_frames = c.varint();
  cp.net_hash = c.u64();
  if (!c.at_end()) throw LogError("checkpoint: trailing bytes");
  return cp;
}

std::string describe_difference(const Checkpoint& rec, const Checkpoint& now) {
  std::vector<std::string> what;
  for (size_t i = 0; i < rec.pcs.size() && i < now.pcs.size(); ++i) {
    if (rec.pcs[i] != now.pcs[i]) {
      what.push_back(
          fmt::format("hart{} pc {:#x} in the recording, {:#x} now", i, rec.pcs[i], now.pcs[i]));
    }
  }
  if (rec.pcs.size() != now.pcs.size()) what.push_back("the number of harts");
  std::vector<std::string> parts;
  for (const auto& r : rec.parts) {
    bool found = false;
    for (const auto& n : now.parts) {
      if (n.name != r.name) continue;
      found = true;
      if (n.hash != r.hash) parts.push_back(r.name);
    }
    if (!found) parts.push_back(r.name + " (missing)");
  }
  if (!parts.empty()) {
    std::string list;
    for (const auto& p : parts) list += (list.empty() ? "" : ", ") + p;
    what.push_back("state of " + list);
  }
  if (rec.console_bytes != now.console_bytes || rec.console_hash != now.console_hash) {
    what.push_back(fmt::format("console output ({} bytes in the recording, {} now{})",
                               rec.console_bytes, now.console_bytes,
                               rec.console_bytes == now.console_bytes ? ", other bytes" : ""));
  }
  if (rec.net_frames != now.net_frames || rec.net_hash != now.net_hash) {
    what.push_back(fmt::format("frames sent ({} in the recording, {} now{})", rec.net_frames,
                               now.net_frames,
                               rec.net_frames == now.net_frames ? ", other contents" : ""));
  }
  std::string out;
  for (const auto& w : what) out += (out.empty() ? "" : "; ") + w;
  return out;
}

std::vector<uint8_t> encode_end(const End& e) {
  PayloadWriter w;
  w.svarint(e.status);
  w.u8(e.stopped ? 2 : e.by_host ? 1 : 0);
  w.varint(e.instructions);
  w.varint(e.state_hash.size());
  w.bytes({reinterpret_cast<const uint8_t*>(e.state_hash.data()), e.state_hash.size()});
  return std::move(w.data());
}

End decode_end(std::span<const uint8_t> payload) {
  Cursor c(payload);
  End e;
  const int64_t status = c.svarint();
  if (status < 0 || status > 255) throw LogError("end record: bad exit status");
  e.status = static_cast<int>(status);
  const uint8_t by_host = c.u8();
  if (by_host > 2) throw LogError("end record: bad flag");
  e.by_host = by_host == 1;
  e.stopped = by_host == 2;
  e.instructions = c.varint();
  const uint64_t len = c.varint();
  if (len > 64) throw LogError("end record: state hash too long");
  const auto hash = c.bytes(len);
  e.state_hash.assign(hash.begin(), hash.end());
  for (char ch : e.state_hash) {
    if (!std::isxdigit(static_cast<unsigned char>(ch))) throw LogError("end record: bad hash");
  }
  if (!c.at_end()) throw LogError("end record: trailing bytes");
  return e;
}

// ---- writer ----

LogWriter::LogWriter(int fd, std::string path, const nlohmann::json& header)
    : fd_(fd), path_(std::move(path)) {
  const std::string json = header.dump();
  std::vector<uint8_t> h(kMagic, kMagic + sizeof kMagic);
  put_u32(h, kLogVersion);
  put_u32(h, static_cast<uint32_t>(json.size()));
  h.insert(h.end(), json.begin(), json.end());
  put_u64(h, XXH64(h.data(), h.size(), 0));
  write_all(h);
  raw_.reserve(kBlockBytes + 64 * 1024);
}

LogWriter::~LogWriter() {
  try {
    flush();
  } catch (const Error&) {
    // Already reported where it happened (or the disk is full: nothing to do).
  }
  close(fd_);
}

void LogWriter::append(Kind kind, uint64_t instructions, uint64_t sub,
                       std::span<const uint8_t> payload) {
  raw_.push_back(static_cast<uint8_t>(kind));
  put_varint(raw_, instructions - last_instructions_);
  last_instructions_ = instructions;
  put_varint(raw_, sub);
  put_varint(raw_, payload.size());
  // A large payload (a disk read) goes out in whole blocks as it comes.
  size_t done = 0;
  while (done < payload.size()) {
    const size_t room = raw_.size() < kBlockBytes ? kBlockBytes - raw_.size() : 0;
    const size_t n = std::min(room, payload.size() - done);
    raw_.insert(raw_.end(), payload.begin() + static_cast<ptrdiff_t>(done),
                payload.begin() + static_cast<ptrdiff_t>(done + n));
    done += n;
    if (raw_.size() >= kBlockBytes) flush();
  }
  if (raw_.size() >= kBlockBytes) flush();
}

void LogWriter::flush() {
  if (raw_.empty()) return;
  zbuf_.resize(ZSTD_compressBound(raw_.size()));
  const size_t n = ZSTD_compress(zbuf_.data(), zbuf_.size(), raw_.data(), raw_.size(), kZstdLevel);
  if (ZSTD_isError(n)) fail("replay log {}: compression failed: {}", path_, ZSTD_getErrorName(n));
  std::vector<uint8_t> head;
  put_u32(head, kBlockMagic);
  put_u32(head, static_cast<uint32_t>(raw_.size()));
  put_u32(head, static_cast<uint32_t>(n));
  put_u64(head, block_checksum(static_cast<uint32_t>(raw_.size()), static_cast<uint32_t>(n),
                               {zbuf_.data(), n}));
  // One write(): a killed recording leaves whole blocks and at most one
  // short one at the end, which the reader takes as the cut.
  head.insert(head.end(), zbuf_.begin(), zbuf_.begin() + static_cast<ptrdiff_t>(n));
  write_all(head);
  raw_.clear();
}

void LogWriter::sync() {
  if (fdatasync(fd_) != 0 && errno != EINVAL) {
    fail("replay log {}: cannot sync: {}", path_, std::strerror(errno));
  }
}

void LogWriter::write_all(std::span<const uint8_t> bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("replay log {}: cannot write: {}", path_, std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  written_ += bytes.size();
}

std::vector<uint8_t> build_log_file(const nlohmann::json& header, std::span<const uint8_t> raw) {
  const std::string json = header.dump();
  std::vector<uint8_t> out(kMagic, kMagic + sizeof kMagic);
  put_u32(out, kLogVersion);
  put_u32(out, static_cast<uint32_t>(json.size()));
  out.insert(out.end(), json.begin(), json.end());
  put_u64(out, XXH64(out.data(), out.size(), 0));
  for (size_t at = 0; at < raw.size(); at += kBlockBytes) {
    const auto part = raw.subspan(at, std::min(kBlockBytes, raw.size() - at));
    std::vector<uint8_t> z(ZSTD_compressBound(part.size()));
    const size_t n = ZSTD_compress(z.data(), z.size(), part.data(), part.size(), 1);
    z.resize(n);
    put_u32(out, kBlockMagic);
    put_u32(out, static_cast<uint32_t>(part.size()));
    put_u32(out, static_cast<uint32_t>(n));
    put_u64(out, block_checksum(static_cast<uint32_t>(part.size()), static_cast<uint32_t>(n), z));
    out.insert(out.end(), z.begin(), z.end());
  }
  return out;
}

// ---- reader ----

std::unique_ptr<LogReader> LogReader::open(const std::string& path) {
  return std::make_unique<LogReader>(read_file(path, "replay log"), path);
}

LogReader::LogReader(std::vector<uint8_t> file, std::string name)
    : file_(std::move(file)), name_(std::move(name)) {
  if (file_.size() < sizeof kMagic + 8 || std::memcmp(file_.data(), kMagic, sizeof kMagic) != 0) {
    error("not a vessel replay log");
  }
  const uint32_t version = get_u32(&file_[8]);
  if (version != kLogVersion) {
    error(fmt::format("log format version {}, this vessel reads version {}", version, kLogVersion));
  }
  const uint32_t json_len = get_u32(&file_[12]);
  if (json_len > kMaxHeaderJson || file_.size() < 16 + uint64_t{json_len} + 8) {
    error("truncated file header");
  }
  const size_t end = 16 + json_len;
  if (XXH64(file_.data(), end, 0) != get_u64(&file_[end])) error("file header checksum mismatch");
  header_ = nlohmann::json::parse(file_.begin() + 16, file_.begin() + static_cast<ptrdiff_t>(end),
                                  nullptr, /*allow_exceptions=*/false);
  if (header_.is_discarded() || !header_.is_object()) error("file header is not a JSON object");
  file_pos_ = end + 8;
  block_offset_ = file_pos_;
}

void LogReader::error(const std::string& what) const {
  throw LogError(fmt::format("replay log {}: {} (at byte {}, after instruction {})", name_, what,
                             block_offset_, instructions_));
}

bool LogReader::read_block() {
  if (file_pos_ == file_.size()) return false;
  block_offset_ = file_pos_;
  // The end of a killed recording: a block only partly written, or space
  // the file system allocated and never filled.
  const auto cut_here = [&] {
    file_pos_ = file_.size();
    return false;
  };
  if (std::all_of(file_.begin() + static_cast<ptrdiff_t>(file_pos_), file_.end(),
                  [](uint8_t b) { return b == 0; })) {
    return cut_here();
  }
  if (file_.size() - file_pos_ < kBlockHeader) return cut_here();
  const uint8_t* h = &file_[file_pos_];
  if (get_u32(h) != kBlockMagic) error("bad block header (corrupted)");
  const uint32_t raw_len = get_u32(h + 4);
  const uint32_t zstd_len = get_u32(h + 8);
  const uint64_t sum = get_u64(h + 12);
  if (raw_len == 0 || raw_len > kMaxBlockBytes || zstd_len > ZSTD_compressBound(kMaxBlockBytes)) {
    error("bad block length (corrupted)");
  }
  if (file_.size() - file_pos_ - kBlockHeader < zstd_len) {
    // A torn last write, unless another block follows (then this length is
    // what is wrong, in the middle of the log).
    const uint8_t magic[4] = {'R', 'B', 'L', 'K'};
    const auto rest = file_.begin() + static_cast<ptrdiff_t>(file_pos_ + kBlockHeader);
    if (std::search(rest, file_.end(), magic, magic + 4) != file_.end()) {
      error("bad block length (corrupted)");
    }
    return cut_here();
  }
  const std::span<const uint8_t> z(&file_[file_pos_ + kBlockHeader], zstd_len);
  if (block_checksum(raw_len, zstd_len, z) != sum) {
    // A host crash can leave the last write's space allocated but zero: a
    // block ending in zeros with only zeros after it is that torn end.
    const size_t end = file_pos_ + kBlockHeader + zstd_len;
    const auto zero = [](uint8_t b) { return b == 0; };
    if (zstd_len >= 8 &&
        std::all_of(file_.begin() + static_cast<ptrdiff_t>(end - 8), file_.end(), zero)) {
      return cut_here();
    }
    error("block checksum mismatch (corrupted)");
  }
  // Keep what is not consumed yet, then the new block's bytes behind it.
  stream_skip_ += stream_pos_;
  while (!stream_blocks_.empty() && stream_skip_ >= stream_blocks_.front().second) {
    stream_skip_ -= stream_blocks_.front().second;
    stream_blocks_.erase(stream_blocks_.begin());
  }
  stream_.erase(stream_.begin(), stream_.begin() + static_cast<ptrdiff_t>(stream_pos_));
  stream_pos_ = 0;
  const size_t old = stream_.size();
  stream_.resize(old + raw_len);
  const size_t n = ZSTD_decompress(stream_.data() + old, raw_len, z.data(), z.size());
  if (ZSTD_isError(n) || n != raw_len) error("block does not decompress (corrupted)");
  stream_blocks_.emplace_back(file_pos_, raw_len);
  file_pos_ += kBlockHeader + zstd_len;
  return true;
}

LogReader::Position LogReader::tell() const {
  Position p;
  p.instructions = instructions_;
  p.ended = ended_;
  uint64_t off = stream_skip_ + stream_pos_;
  for (const auto& [file_offset, raw_len] : stream_blocks_) {
    if (off < raw_len) {
      p.block_file_offset = file_offset;
      p.offset_in_block = off;
      return p;
    }
    off -= raw_len;
  }
  // Everything read was consumed: the next record starts the next block.
  p.block_file_offset = file_pos_;
  p.offset_in_block = 0;
  return p;
}

void LogReader::seek(const Position& p) {
  if (p.block_file_offset > file_.size()) error("seek outside the log");
  stream_.clear();
  stream_pos_ = 0;
  stream_blocks_.clear();
  stream_skip_ = 0;
  file_pos_ = p.block_file_offset;
  block_offset_ = file_pos_;
  instructions_ = p.instructions;
  ended_ = p.ended;
  cut_ = false;
  if (p.offset_in_block == 0) return;
  if (!read_block() || p.offset_in_block > stream_.size()) error("seek outside the log");
  stream_pos_ = p.offset_in_block;
}

bool LogReader::fill(size_t need) {
  while (stream_.size() - stream_pos_ < need) {
    if (!read_block()) return false;
  }
  return true;
}

std::optional<Record> LogReader::next() {
  if (cut_) return std::nullopt;
  if (ended_) {
    if (fill(1)) error("records after the end record (corrupted)");
    return std::nullopt;
  }
  // The file ends without the end record: the recording was cut, and the
  // last record is the last one whole.
  if (!fill(1)) return cut_at_end();
  Record r;
  r.offset = block_offset_;
  const uint8_t kind = stream_[stream_pos_++];
  if (kind < static_cast<uint8_t>(Kind::kConsole) || kind > static_cast<uint8_t>(Kind::kEnd)) {
    error(fmt::format("unknown record kind {} (corrupted)", kind));
  }
  r.kind = static_cast<Kind>(kind);
  // A record the cut went through is dropped whole.
  const auto varint_or_cut = [&]() -> std::optional<uint64_t> {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!fill(1)) return std::nullopt;
      const uint8_t b = stream_[stream_pos_++];
      if (shift == 63 && b > 1) error("bad record header (corrupted)");
      v |= uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80) == 0) return v;
    }
    error("bad record header (corrupted)");
  };
  const auto delta = varint_or_cut();
  if (!delta) return cut_at_end();
  if (*delta > UINT64_MAX - instructions_) error("instruction count overflows (corrupted)");
  r.instructions = instructions_ + *delta;
  const auto sub = varint_or_cut();
  if (!sub) return cut_at_end();
  r.sub = *sub;
  const auto len = varint_or_cut();
  if (!len) return cut_at_end();
  if (*len > kMaxRecordBytes) error("record too long (corrupted)");
  if (!fill(*len)) return cut_at_end();
  r.payload.assign(stream_.begin() + static_cast<ptrdiff_t>(stream_pos_),
                   stream_.begin() + static_cast<ptrdiff_t>(stream_pos_ + *len));
  stream_pos_ += *len;
  instructions_ = r.instructions;
  if (r.kind == Kind::kEnd) ended_ = true;
  return r;
}

std::optional<Record> LogReader::cut_at_end() {
  // fill() only gives up at the end of the file: nothing whole follows.
  cut_ = true;
  return std::nullopt;
}

uint64_t LogReader::validate() {
  uint64_t n = 0;
  while (auto r = next()) {
    // Payloads are checked here too, so a replay never starts on a log it
    // cannot finish.
    try {
      switch (r->kind) {
        case Kind::kDisk:
        case Kind::kDiskDrain: {
          uint64_t disk = 0;
          decode_disk(r->payload, disk);
          break;
        }
        case Kind::kNet: {
          Cursor c(r->payload);
          c.varint();
          break;
        }
        case Kind::kConsoleRead:
          if (r->payload.size() > 1) throw LogError("console read of more than one byte");
          break;
        case Kind::kCheckpoint: decode_checkpoint(r->payload); break;
        case Kind::kEnd: decode_end(r->payload); break;
        default: break;
      }
    } catch (const LogError& e) {
      error(fmt::format("bad {} record: {} (corrupted)", kind_name(r->kind), e.what()));
    }
    ++n;
  }
  return n;
}

}  // namespace vessel::replay
