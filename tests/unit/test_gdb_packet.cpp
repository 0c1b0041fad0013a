// The gdb stub's framing (vm/gdb/packet.hpp): checksums, escapes, run-length
// encoding, acks and interrupts, and what malformed input turns into.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "vm/gdb/packet.hpp"

namespace vessel::gdb {
namespace {

using Kind = Event::Kind;

std::vector<Event> feed_all(std::string_view bytes) {
  PacketReader reader;
  std::vector<Event> out;
  reader.feed(bytes, out);
  return out;
}

TEST(GdbPacket, FramesWithChecksum) {
  EXPECT_EQ(frame("OK"), "$OK#9a");
  EXPECT_EQ(frame(""), "$#00");
  // '$', '#', '}' and '*' are escaped as '}' + (byte ^ 0x20); the checksum
  // covers the bytes as sent.
  EXPECT_EQ(frame("a$b"),
            "$a}\x04"
            "b#44");
}

TEST(GdbPacket, ReadsAPacket) {
  const auto events = feed_all("$qSupported:swbreak+#8b");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::kPacket);
  EXPECT_EQ(events[0].payload, "qSupported:swbreak+");
  // Upper-case checksum digits are hex too.
  EXPECT_EQ(feed_all("$OK#9A")[0].kind, Kind::kPacket);
}

TEST(GdbPacket, RoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  const auto events = feed_all(frame(all));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::kPacket);
  EXPECT_EQ(events[0].payload, all);
}

TEST(GdbPacket, BadChecksumIsReported) {
  const auto events = feed_all("$OK#00");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::kBadChecksum);
  // Non-hex checksum digits too.
  EXPECT_EQ(feed_all("$OK#zz")[0].kind, Kind::kBadChecksum);
  EXPECT_EQ(feed_all("$OK#9z")[0].kind, Kind::kBadChecksum);
}

TEST(GdbPacket, AcksNaksAndInterrupts) {
  const auto events = feed_all("+-\x03garbage+");
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].kind, Kind::kAck);
  EXPECT_EQ(events[1].kind, Kind::kNak);
  EXPECT_EQ(events[2].kind, Kind::kInterrupt);
  EXPECT_EQ(events[3].kind, Kind::kAck);
}

TEST(GdbPacket, SplitAcrossFeeds) {
  PacketReader reader;
  std::vector<Event> out;
  const std::string framed = frame("m80000000,4");
  for (char c : framed) reader.feed(std::string_view(&c, 1), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, "m80000000,4");
}

TEST(GdbPacket, DollarRestartsAPacket) {
  const auto events = feed_all("$garb" + frame("g"));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].payload, "g");
}

TEST(GdbPacket, RunLengthDecoding) {
  // "0* " is '0' repeated 1 + (' ' - 29) = 4 times.
  EXPECT_EQ(decode_payload("0* "), "0000");
  EXPECT_EQ(decode_payload("ab*\""), "abbbbbb");  // '"' - 29 = 5 more
  EXPECT_FALSE(decode_payload("*a"));             // nothing to repeat
  EXPECT_FALSE(decode_payload("a*"));             // no count
  EXPECT_FALSE(decode_payload("a*\x01"));         // count below 3
  EXPECT_FALSE(decode_payload("a}"));             // escape at the end
  EXPECT_EQ(decode_payload("}\x03"), "#");
}

TEST(GdbPacket, TooLongIsDroppedNotBuffered) {
  const std::string big(3 * kMaxPayload, 'a');
  // Compute the checksum the client would send.
  uint8_t sum = 0;
  for (char c : big) sum = static_cast<uint8_t>(sum + c);
  char check[3];
  std::snprintf(check, sizeof check, "%02x", sum);
  const auto events = feed_all("$" + big + "#" + check);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::kMalformed);
  // Run-length encoding cannot blow a small packet up past the limit.
  std::string rle;
  for (size_t i = 0; i < kMaxPayload / 97 + 10; ++i) rle += "a*~";
  EXPECT_FALSE(decode_payload(rle));
}

TEST(GdbPacket, HexHelpers) {
  EXPECT_EQ(to_hex(std::string_view("OK")), "4f4b");
  EXPECT_EQ(from_hex("4f4b"), (std::vector<uint8_t>{0x4f, 0x4b}));
  EXPECT_FALSE(from_hex("4f4"));
  EXPECT_FALSE(from_hex("zz"));
  EXPECT_EQ(parse_hex_number("80000000"), 0x80000000u);
  EXPECT_EQ(parse_hex_number("ffffffffffffffff"), ~uint64_t{0});
  EXPECT_FALSE(parse_hex_number("1ffffffffffffffff"));  // 17 digits
  EXPECT_FALSE(parse_hex_number(""));
  EXPECT_FALSE(parse_hex_number("-1"));
  EXPECT_EQ(le_hex(0x1122334455667788, 8), "8877665544332211");
  EXPECT_EQ(le_hex(0x11223344, 4), "44332211");
  EXPECT_EQ(parse_le_hex("8877665544332211", 8), 0x1122334455667788u);
  EXPECT_FALSE(parse_le_hex("887766", 8));
}

}  // namespace
}  // namespace vessel::gdb
