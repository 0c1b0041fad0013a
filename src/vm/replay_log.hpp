// The record/replay log: every input from outside the guest, each stamped
// with the point of the run where the guest got it (vm/journal.hpp says
// which points those are). One file, DIR/log.bin, beside the starting state
// (DIR/start, a snapshot at instruction 0):
//
//   file header   magic "VSLREPLY" (8 bytes) | version u32 | json_len u32 |
//                 JSON (json_len bytes: engine, checkpoint interval, disks...) |
//                 xxh64 of everything before it (u64)
//   blocks        magic "RBLK" (u32) | raw_len u32 | zstd_len u32 |
//                 xxh64 of (raw_len, zstd_len, the zstd bytes) (u64) |
//                 one zstd frame of zstd_len bytes that holds raw_len bytes
//
// (all integers little-endian). The blocks' contents, end to end, are a
// stream of records, which may cross block boundaries:
//
//   kind u8 | instruction delta (varint) | sub (varint) | payload_len (varint) | payload
//
// The position of a record is (instructions, sub): the retired-instruction
// count of the whole VM (all harts, round-robin order), as a delta from the
// previous record's, and which of the scheduler's stops at that same count
// it belongs to (several when every hart waits). The last record is kEnd.
//
// A recording that was killed (SIGKILL, a host crash) leaves a log without
// its end record, maybe with a last block only partly written: each block
// is written with one write() and its length and checksum, so the reader
// takes the log as cut after its last whole block (a block that runs past
// the end of the file; a tail of zero bytes, or a block whose checksum
// fails that ends in zeros with only zeros after it: space a host crash
// left allocated but unwritten) and the replay goes up to there. Any other
// block whose checksum fails is corruption, not a cut.
//
// The reader treats the file as hostile: every length is checked against
// what the file still holds and against fixed limits before anything is
// allocated, every block's checksum is checked before it is decompressed,
// and an error names the byte offset and the instruction count reached.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vessel::replay {

inline constexpr uint32_t kLogVersion = 1;
inline constexpr size_t kBlockBytes = 256 * 1024;          // raw bytes per block, as written
inline constexpr size_t kMaxBlockBytes = 4 * 1024 * 1024;  // accepted when read
inline constexpr size_t kMaxHeaderJson = 64 * 1024;
inline constexpr uint64_t kMaxRecordBytes = uint64_t{1} << 30;  // a disk read of 1 GiB at most

enum class Kind : uint8_t {
  // Delivered where the scheduler stops between rounds of slices:
  kConsole = 1,  // bytes the console device (UART or virtio-console) took
  kNet = 2,      // varint device | one Ethernet frame handed to virtio-net
  kDisk = 3,     // varint disk | completions (see DiskCompletion), reaped by the event loop
  // Asked for by the guest while a hart runs, taken in order:
  kDiskDrain = 4,    // completions the device waited for (a reset)
  kRng = 5,          // bytes virtio-rng gave
  kConsoleRead = 6,  // an SBI/HTIF console read: 0 bytes (nothing) or 1
  // Checks and the end:
  kCheckpoint = 7,  // state hashes (see Checkpoint)
  kEnd = 8,         // the run ended (see End)
};
const char* kind_name(Kind kind);

struct Record {
  Kind kind = Kind::kEnd;
  uint64_t instructions = 0;
  uint64_t sub = 0;
  std::vector<uint8_t> payload;
  uint64_t offset = 0;  // of the block the record starts in, for messages
};

// A log that cannot be read: the message names the file, the byte offset and
// the last instruction count read.
class LogError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reading a payload: bounds-checked, throws LogError("...") without position
// (the reader's caller adds it).
class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  uint64_t varint();
  int64_t svarint();  // zigzag
  uint8_t u8();
  uint64_t u64();
  std::span<const uint8_t> bytes(uint64_t n);
  std::span<const uint8_t> rest();
  bool at_end() const { return pos_ == bytes_.size(); }
  size_t remaining() const { return bytes_.size() - pos_; }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

// Building a payload.
class PayloadWriter {
 public:
  void varint(uint64_t v);
  void svarint(int64_t v);
  void u8(uint8_t v) { out_.push_back(v); }
  void u64(uint64_t v);
  void bytes(std::span<const uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  std::vector<uint8_t>& data() { return out_; }

 private:
  std::vector<uint8_t> out_;
};

// One disk op's completion: its tag (virtio-blk's request number), the
// result (bytes moved or -errno) and, for a read that succeeded, the data.
struct DiskCompletion {
  uint64_t tag = 0;
  int64_t result = 0;
  std::vector<uint8_t> data;
};
std::vector<uint8_t> encode_disk(uint64_t disk, std::span<const DiskCompletion> done);
// Throws LogError on a malformed payload.
std::vector<DiskCompletion> decode_disk(std::span<const uint8_t> payload, uint64_t& disk);

// A checkpoint: a hash of each part of the VM's state (the state format's
// sections: machine, harts, interrupt controllers, devices), each hart's pc,
// and what the guest wrote to its console and network so far.
struct Checkpoint {
  struct Part {
    std::string name;
    uint64_t hash = 0;
  };
  std::vector<Part> parts;
  std::vector<uint64_t> pcs;
  uint64_t console_bytes = 0, console_hash = 0;
  uint64_t net_frames = 0, net_hash = 0;
};
std::vector<uint8_t> encode_checkpoint(const Checkpoint& c);
Checkpoint decode_checkpoint(std::span<const uint8_t> payload);
// What differs between the recorded checkpoint and the replayed one, in
// words ("" if nothing).
std::string describe_difference(const Checkpoint& recorded, const Checkpoint& replayed);

struct End {
  int status = 0;
  bool by_host = false;  // a signal, --timeout or Ctrl-a x: replay stops at the same point
  uint64_t instructions = 0;
  std::string state_hash;  // hex
  // `vessel ctl record stop`: the VM went on unrecorded; the replay stops at
  // the same point and compares the state there (hashed at that stop).
  bool stopped = false;
};
std::vector<uint8_t> encode_end(const End& e);
End decode_end(std::span<const uint8_t> payload);

class LogWriter {
 public:
  // Writes the file header to `fd` (which it owns and closes).
  LogWriter(int fd, std::string path, const nlohmann::json& header);
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  void append(Kind kind, uint64_t instructions, uint64_t sub, std::span<const uint8_t> payload);
  // Compresses and writes what is buffered (called when a block is full, at
  // the end, and now and then so that a killed recording keeps most of it).
  void flush();
  // Asks the file system to keep what was written (fdatasync): a host crash
  // then loses at most what came since.
  void sync();
  uint64_t bytes_written() const { return written_; }

 private:
  void write_all(std::span<const uint8_t> bytes);
  int fd_;
  std::string path_;
  std::vector<uint8_t> raw_;
  std::vector<uint8_t> zbuf_;
  uint64_t last_instructions_ = 0;
  uint64_t written_ = 0;
};

// Tests and the fuzzer: a whole log file (valid header, checksummed blocks)
// whose record stream is `raw`, whatever it holds.
std::vector<uint8_t> build_log_file(const nlohmann::json& header, std::span<const uint8_t> raw);

class LogReader {
 public:
  // Reads and checks the file header; throws LogError.
  static std::unique_ptr<LogReader> open(const std::string& path);
  // From bytes (tests and the fuzzer).
  LogReader(std::vector<uint8_t> file, std::string name);

  const nlohmann::json& header() const { return header_; }
  // The next record, or nullopt after kEnd. Throws LogError on a corrupted
  // or truncated log, or one that goes on after kEnd.
  std::optional<Record> next();
  // Reads the whole log (checks it) and returns the number of records.
  uint64_t validate();
  // After next() returned nullopt: true if the log was cut (it ends without
  // its end record), and the position of its last whole record.
  bool cut() const { return cut_; }
  uint64_t cut_instructions() const { return instructions_; }

  // Where the next record starts, to come back to (reverse debugging
  // re-executes from in-memory checkpoints, vm/replay_history.hpp): the
  // block it starts in and the offset in that block's raw bytes.
  struct Position {
    uint64_t block_file_offset = 0;
    uint64_t offset_in_block = 0;
    uint64_t instructions = 0;
    bool ended = false;
  };
  Position tell() const;
  // Back to a position tell() gave (of this log): decompresses that block
  // again. Throws LogError as next() does.
  void seek(const Position& p);

 private:
  [[noreturn]] void error(const std::string& what) const;
  bool fill(size_t need);  // at least `need` unread stream bytes, false at the end of the file
  bool read_block();
  // The log ends here without its end record (it was cut); a record the
  // cut went through is dropped whole.
  std::optional<Record> cut_at_end();

  std::vector<uint8_t> file_;
  std::string name_;
  nlohmann::json header_;
  size_t file_pos_ = 0;
  std::vector<uint8_t> stream_;  // decompressed, not yet consumed
  size_t stream_pos_ = 0;
  uint64_t block_offset_ = 0;  // where the block being read started
  uint64_t instructions_ = 0;
  bool ended_ = false;
  bool cut_ = false;
  // The blocks stream_ holds bytes of (file offset, raw length), oldest
  // first, and how many bytes of the oldest were consumed before stream_[0].
  std::vector<std::pair<uint64_t, uint64_t>> stream_blocks_;
  uint64_t stream_skip_ = 0;
};

}  // namespace vessel::replay
