#include "vm/gdb/packet.hpp"

namespace vessel::gdb {

namespace {

// A raw packet may be twice its payload (every byte escaped).
constexpr size_t kMaxRaw = 2 * kMaxPayload;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr char kHexDigits[] = "0123456789abcdef";

}  // namespace

void PacketReader::feed(std::span<const uint8_t> bytes, std::vector<Event>& out) {
  for (const uint8_t b : bytes) {
    switch (state_) {
      case State::kIdle:
        if (b == '$') {
          state_ = State::kBody;
          raw_.clear();
          too_long_ = false;
          sum_ = 0;
        } else if (b == '+') {
          out.push_back({Event::Kind::kAck, {}});
        } else if (b == '-') {
          out.push_back({Event::Kind::kNak, {}});
        } else if (b == 0x03) {
          out.push_back({Event::Kind::kInterrupt, {}});
        }
        break;
      case State::kBody:
        if (b == '#') {
          state_ = State::kCheck1;
          break;
        }
        // A '$' inside a packet starts a new one: the client gave up on the
        // old one (gdbserver does the same).
        if (b == '$') {
          raw_.clear();
          too_long_ = false;
          sum_ = 0;
          break;
        }
        sum_ = static_cast<uint8_t>(sum_ + b);
        if (raw_.size() < kMaxRaw) {
          raw_.push_back(static_cast<char>(b));
        } else {
          too_long_ = true;  // keep counting to the '#', store nothing more
        }
        break;
      case State::kCheck1: {
        const int d = hex_digit(static_cast<char>(b));
        if (d < 0) {
          out.push_back({Event::Kind::kBadChecksum, {}});
          state_ = State::kIdle;
          break;
        }
        check_ = static_cast<uint8_t>(d);
        state_ = State::kCheck2;
        break;
      }
      case State::kCheck2: {
        const int d = hex_digit(static_cast<char>(b));
        state_ = State::kIdle;
        if (d < 0 || static_cast<uint8_t>((check_ << 4) | d) != sum_) {
          out.push_back({Event::Kind::kBadChecksum, {}});
          break;
        }
        finish_packet(out);
        break;
      }
    }
  }
}

void PacketReader::finish_packet(std::vector<Event>& out) {
  if (too_long_) {
    out.push_back({Event::Kind::kMalformed, {}});
    return;
  }
  auto payload = decode_payload(raw_);
  if (!payload) {
    out.push_back({Event::Kind::kMalformed, {}});
    return;
  }
  out.push_back({Event::Kind::kPacket, std::move(*payload)});
}

std::optional<std::string> decode_payload(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '}') {
      if (++i == raw.size()) return std::nullopt;  // an escape with nothing to escape
      out.push_back(static_cast<char>(raw[i] ^ 0x20));
    } else if (c == '*') {
      // Run-length encoding: repeat the previous byte (count - 29) more
      // times; counts below 3 or that would be '#' or '$' are not sent.
      if (out.empty() || ++i == raw.size()) return std::nullopt;
      const int count = static_cast<uint8_t>(raw[i]) - 29;
      if (count < 3 || count > 97) return std::nullopt;
      if (out.size() + static_cast<size_t>(count) > kMaxPayload) return std::nullopt;
      out.append(static_cast<size_t>(count), out.back());
    } else {
      out.push_back(c);
    }
    if (out.size() > kMaxPayload) return std::nullopt;
  }
  return out;
}

std::string frame(std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 4);
  out.push_back('$');
  uint8_t sum = 0;
  auto put = [&](char c) {
    out.push_back(c);
    sum = static_cast<uint8_t>(sum + static_cast<uint8_t>(c));
  };
  for (const char c : payload) {
    if (c == '$' || c == '#' || c == '}' || c == '*') {
      put('}');
      put(static_cast<char>(c ^ 0x20));
    } else {
      put(c);
    }
  }
  out.push_back('#');
  out.push_back(kHexDigits[sum >> 4]);
  out.push_back(kHexDigits[sum & 15]);
  return out;
}

std::string to_hex(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const uint8_t b : bytes) {
    out.push_back(kHexDigits[b >> 4]);
    out.push_back(kHexDigits[b & 15]);
  }
  return out;
}

std::string to_hex(std::string_view text) {
  return to_hex({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

std::optional<std::vector<uint8_t>> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return out;
}

std::optional<uint64_t> parse_hex_number(std::string_view text) {
  if (text.empty() || text.size() > 16) return std::nullopt;
  uint64_t value = 0;
  for (const char c : text) {
    const int d = hex_digit(c);
    if (d < 0) return std::nullopt;
    value = (value << 4) | static_cast<uint64_t>(d);
  }
  return value;
}

std::string le_hex(uint64_t value, unsigned bytes) {
  uint8_t raw[8];
  for (unsigned i = 0; i < bytes && i < 8; ++i) raw[i] = static_cast<uint8_t>(value >> (8 * i));
  return to_hex({raw, bytes < 8 ? bytes : 8});
}

std::optional<uint64_t> parse_le_hex(std::string_view hex, unsigned bytes) {
  if (bytes > 8 || hex.size() != 2 * bytes) return std::nullopt;
  const auto raw = from_hex(hex);
  if (!raw) return std::nullopt;
  uint64_t value = 0;
  for (unsigned i = 0; i < bytes; ++i) value |= static_cast<uint64_t>((*raw)[i]) << (8 * i);
  return value;
}

}  // namespace vessel::gdb
