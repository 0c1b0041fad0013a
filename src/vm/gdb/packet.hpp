// The GDB remote serial protocol's framing (gdb manual, "Remote Protocol",
// "Overview"): `$payload#cc`, where cc is the two-hex-digit sum of the
// payload's bytes mod 256; `}` escapes the next byte (XOR 0x20); `*` repeats
// the previous byte (run-length encoding, count = next byte - 29); `+`/`-`
// acknowledge; a bare 0x03 interrupts a running target.
//
// Everything here is pure (no sockets, no VM) so that it can be fuzzed: the
// bytes come from whoever connects to the stub's TCP port, which is hostile
// input. Lengths are bounded before anything is stored: a packet longer than
// kMaxPayload is dropped whole (reported as kTooLong), never buffered.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vessel::gdb {

// The largest payload the stub accepts (after escapes and run-length
// encoding are undone); qSupported advertises it as PacketSize.
inline constexpr size_t kMaxPayload = 16384;

struct Event {
  enum class Kind : uint8_t {
    kPacket,       // a well-formed packet: `payload` holds it, decoded
    kAck,          // '+'
    kNak,          // '-': resend the last reply
    kInterrupt,    // 0x03 outside a packet
    kBadChecksum,  // answer with '-' so the client resends
    kMalformed,    // a bad escape or repeat count, or too long: an error reply
  };
  Kind kind;
  std::string payload;
};

// Turns a byte stream into events. Bytes outside packets other than '+',
// '-' and 0x03 are ignored (as gdbserver does).
class PacketReader {
 public:
  void feed(std::span<const uint8_t> bytes, std::vector<Event>& out);
  void feed(std::string_view bytes, std::vector<Event>& out) {
    feed({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, out);
  }

 private:
  void finish_packet(std::vector<Event>& out);

  enum class State : uint8_t { kIdle, kBody, kCheck1, kCheck2 };
  State state_ = State::kIdle;
  std::string raw_;  // the bytes between '$' and '#', as sent (bounded)
  bool too_long_ = false;
  uint8_t sum_ = 0;
  uint8_t check_ = 0;
};

// Undoes escapes and run-length encoding; nullopt if malformed or longer
// than kMaxPayload.
std::optional<std::string> decode_payload(std::string_view raw);

// `$payload#cc`, with '$', '#', '}' and '*' in the payload escaped (binary
// replies such as qXfer data may hold any byte).
std::string frame(std::string_view payload);

// Hex helpers. The protocol sends numbers big-endian in hex ("1f40") and
// register contents as target-order bytes (little-endian for RISC-V).
std::string to_hex(std::span<const uint8_t> bytes);
std::string to_hex(std::string_view text);
// Decodes an even number of hex digits; nullopt on anything else.
std::optional<std::vector<uint8_t>> from_hex(std::string_view hex);
// A number of 1 to 16 hex digits; nullopt if empty, too long or not hex.
std::optional<uint64_t> parse_hex_number(std::string_view text);
// `value` as `bytes` little-endian bytes in hex.
std::string le_hex(uint64_t value, unsigned bytes);
// The inverse: exactly 2 * `bytes` hex digits.
std::optional<uint64_t> parse_le_hex(std::string_view hex, unsigned bytes);

}  // namespace vessel::gdb
