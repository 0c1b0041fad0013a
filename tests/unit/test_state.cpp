// The state format (base/state): field encoding, the section container, and
// its defences against hostile blobs.
#include "base/state.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

namespace vessel::state {
namespace {

// Runs `f`, which must throw StateError whose message contains `needle`.
template <typename F>
void expect_state_error(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no StateError; expected one mentioning '" << needle << "'";
  } catch (const StateError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "message '" << e.what() << "' lacks '" << needle << "'";
  }
}

std::vector<Section> sample_sections() {
  return {
      {"hart0", 1, {1, 2, 3, 4, 5}},
      {"clint", 3, {}},
      {"uart", 1, std::vector<uint8_t>(300, 0xab)},
  };
}

// The container header as decode() reads it, for blobs the Writer would
// never produce.
std::vector<uint8_t> header(uint64_t magic, uint32_t version, uint32_t count) {
  Writer w;
  w.u64(magic);
  w.u32(version);
  w.u32(count);
  return w.take();
}

TEST(StateFormat, EveryFieldTypeRoundTrips) {
  const std::array<uint64_t, 3> words = {0, UINT64_MAX, 0x0123'4567'89ab'cdef};
  const std::array<uint8_t, 3> raw = {9, 8, 7};
  Writer w;
  w.u8(0xfe);
  w.u16(0xbeef);
  w.u32(0xdead'beef);
  w.u64(0x1122'3344'5566'7788);
  w.boolean(true);
  w.boolean(false);
  w.bytes(std::vector<uint8_t>{1, 2, 3});
  w.bytes({});
  w.str("hello");
  w.u64s(words);
  w.raw(raw);
  w.u64(41);

  Reader r(w.data(), "test");
  EXPECT_EQ(r.u8(), 0xfe);
  EXPECT_EQ(r.u16(), 0xbeef);
  EXPECT_EQ(r.u32(), 0xdead'beefu);
  EXPECT_EQ(r.u64(), 0x1122'3344'5566'7788u);
  EXPECT_TRUE(r.boolean());
  EXPECT_FALSE(r.boolean());
  EXPECT_EQ(r.bytes(3), (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_TRUE(r.bytes(0).empty());
  EXPECT_EQ(r.str(5), "hello");
  std::array<uint64_t, 3> words_back{};
  r.u64s(words_back);
  EXPECT_EQ(words_back, words);
  const std::span<const uint8_t> raw_back = r.raw(3);
  EXPECT_TRUE(std::equal(raw_back.begin(), raw_back.end(), raw.begin(), raw.end()));
  EXPECT_EQ(r.u64_at_most(41, "answer"), 41u);
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_NO_THROW(r.expect_end());
}

TEST(StateFormat, FieldsAreLittleEndian) {
  Writer w;
  w.u32(0x0102'0304);
  w.u16(0x0506);
  w.str("ab");
  EXPECT_EQ(w.data(), (std::vector<uint8_t>{4, 3, 2, 1, 6, 5, 2, 0, 0, 0, 0, 0, 0, 0, 'a', 'b'}));
}

TEST(StateFormat, ReadPastTheEndNamesTheSection) {
  const std::vector<uint8_t> three = {1, 2, 3};
  expect_state_error([&] { Reader(three, "plic").u32(); }, "'plic' is truncated");
  expect_state_error([&] { Reader(three, "plic").u64(); }, "truncated");
  expect_state_error([&] { Reader(three, "plic").raw(4); }, "truncated");
  Reader r(three, "plic");
  std::array<uint64_t, 1> out{};
  expect_state_error([&] { r.u64s(out); }, "truncated");
  // Nothing was consumed by the failed reads.
  EXPECT_EQ(Reader(three, "plic").u16(), 0x0201);
}

TEST(StateFormat, BytesLengthIsCheckedBeforeAllocating) {
  Writer w;
  w.bytes(std::vector<uint8_t>(10, 1));
  expect_state_error([&] { Reader(w.data(), "uart").bytes(9); }, "too long");
  expect_state_error([&] { Reader(w.data(), "uart").str(9); }, "too long");
  EXPECT_EQ(Reader(w.data(), "uart").bytes(10).size(), 10u);

  // A length far beyond the data (and any sane allocation) with a generous max.
  Writer huge;
  huge.u64(uint64_t{1} << 62);
  huge.u8(0);
  expect_state_error([&] { Reader(huge.data(), "uart").bytes(UINT64_MAX); }, "too long");
  // Exactly one byte more than what is left.
  Writer short_by_one;
  short_by_one.u64(4);
  short_by_one.raw(std::vector<uint8_t>{1, 2, 3});
  expect_state_error([&] { Reader(short_by_one.data(), "uart").bytes(100); }, "too long");
}

TEST(StateFormat, BooleanAcceptsOnlyZeroAndOne) {
  for (unsigned v = 0; v < 256; ++v) {
    const std::vector<uint8_t> b = {static_cast<uint8_t>(v)};
    Reader r(b, "flags");
    if (v <= 1) {
      EXPECT_EQ(r.boolean(), v == 1);
    } else {
      expect_state_error([&] { r.boolean(); }, "bad boolean");
    }
  }
}

TEST(StateFormat, U64AtMostNamesTheField) {
  Writer w;
  w.u64(8);
  expect_state_error([&] { Reader(w.data(), "hart0").u64_at_most(7, "priv"); },
                     "'hart0': bad priv (0x8)");
  EXPECT_EQ(Reader(w.data(), "hart0").u64_at_most(8, "priv"), 8u);
}

TEST(StateFormat, ExpectEndRejectsLeftoverBytes) {
  const std::vector<uint8_t> b = {1, 2, 3};
  Reader r(b, "clint");
  r.u16();
  expect_state_error([&] { r.expect_end(); }, "1 unexpected trailing bytes");
  r.u8();
  EXPECT_NO_THROW(r.expect_end());
}

TEST(StateFormat, SectionsRoundTrip) {
  const std::vector<Section> in = sample_sections();
  const std::vector<Section> out = decode(encode(in));
  ASSERT_EQ(out.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].name, in[i].name);
    EXPECT_EQ(out[i].version, in[i].version);
    EXPECT_EQ(out[i].payload, in[i].payload);
  }
  EXPECT_TRUE(decode(encode({})).empty());
}

TEST(StateFormat, FindChecksNameAndVersion) {
  const std::vector<Section> sections = decode(encode(sample_sections()));
  EXPECT_EQ(find(sections, "clint", 3).name, "clint");
  EXPECT_EQ(find(sections, "uart", 1).payload.size(), 300u);
  expect_state_error([&] { find(sections, "plic", 1); }, "no section 'plic'");
  expect_state_error([&] { find(sections, "clint", 1); },
                     "'clint' has version 3, this vessel reads version 1");
}

TEST(StateFormat, EveryTruncationIsRejected) {
  const std::vector<uint8_t> blob = encode(sample_sections());
  for (size_t n = 0; n < blob.size(); ++n) {
    const std::vector<uint8_t> cut(blob.begin(), blob.begin() + static_cast<ptrdiff_t>(n));
    EXPECT_THROW(decode(cut), StateError) << "length " << n;
  }
}

TEST(StateFormat, TrailingBytesAreRejected) {
  std::vector<uint8_t> blob = encode(sample_sections());
  blob.push_back(0);
  EXPECT_THROW(decode(blob), StateError);
}

TEST(StateFormat, AnyFlippedPayloadByteFailsItsChecksum) {
  const std::vector<Section> sections = sample_sections();
  const std::vector<uint8_t> blob = encode(sections);
  // The last section's payload ends the blob; the first's starts after the
  // header (16 bytes) and its name, version, length and checksum.
  const size_t first = 16 + 8 + sections[0].name.size() + 4 + 8 + 8;
  for (size_t i = 0; i < sections[0].payload.size(); ++i) {
    std::vector<uint8_t> bad = blob;
    bad[first + i] ^= 0x01;
    expect_state_error([&] { decode(bad); }, "checksum mismatch in state section 'hart0'");
  }
  for (size_t i = 0; i < sections[2].payload.size(); ++i) {
    std::vector<uint8_t> bad = blob;
    bad[blob.size() - 1 - i] ^= 0x80;
    expect_state_error([&] { decode(bad); }, "checksum mismatch in state section 'uart'");
  }
}

TEST(StateFormat, EveryFlippedByteIsDetected) {
  // The checksum covers each section's name and version too, so no flip
  // decodes as a different but valid blob.
  const std::vector<uint8_t> blob = encode(sample_sections());
  for (size_t i = 0; i < blob.size(); ++i) {
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
      std::vector<uint8_t> bad = blob;
      bad[i] ^= mask;
      EXPECT_THROW(decode(bad), StateError) << "byte " << i << " mask " << int{mask};
    }
  }
}

TEST(StateFormat, WrongMagicIsNotABlob) {
  std::vector<uint8_t> blob = encode(sample_sections());
  blob[0] ^= 1;
  expect_state_error([&] { decode(blob); }, "not a vessel state blob (bad magic number)");
  expect_state_error([&] { decode(std::vector<uint8_t>{'V', 'E'}); }, "not a vessel state blob");
  expect_state_error([&] { decode(std::vector<uint8_t>{}); }, "not a vessel state blob");
}

TEST(StateFormat, WrongFormatVersionIsNamed) {
  expect_state_error([&] { decode(header(kMagic, kFormatVersion + 6, 0)); },
                     "state format version 7, this vessel reads version 1");
  EXPECT_NO_THROW(decode(header(kMagic, kFormatVersion, 0)));
}

TEST(StateFormat, TooManySectionsIsRejectedBeforeReading) {
  expect_state_error([&] { decode(header(kMagic, kFormatVersion, kMaxSections + 1)); },
                     "claims 4097 sections");
  expect_state_error([&] { decode(header(kMagic, kFormatVersion, UINT32_MAX)); }, "sections");
  // At the limit the count itself is fine; the missing sections are not.
  expect_state_error([&] { decode(header(kMagic, kFormatVersion, kMaxSections)); }, "truncated");
}

TEST(StateFormat, OversizedSectionIsRejected) {
  auto with_length = [](uint64_t length, size_t actual) {
    Writer w;
    w.raw(header(kMagic, kFormatVersion, 1));
    w.str("virtio0");
    w.u32(1);
    w.u64(length);
    w.u64(0);
    w.raw(std::vector<uint8_t>(actual, 0));
    return w.take();
  };
  expect_state_error([&] { decode(with_length(kMaxSectionBytes + 1, 16)); },
                     "'virtio0' is truncated or too large");
  expect_state_error([&] { decode(with_length(UINT64_MAX, 16)); }, "too large");
  expect_state_error([&] { decode(with_length(17, 16)); }, "truncated or too large");
  // Right length, wrong (zero) checksum.
  expect_state_error([&] { decode(with_length(16, 16)); }, "checksum mismatch");
}

TEST(StateFormat, OverlongSectionNameIsRejected) {
  const std::string name(kMaxNameBytes + 1, 'n');
  expect_state_error([&] { decode(encode({{name, 1, {}}})); }, "too long");
  EXPECT_NO_THROW(decode(encode({{std::string(kMaxNameBytes, 'n'), 1, {}}})));
}

TEST(StateFormat, DuplicateSectionIsRejected) {
  std::vector<Section> sections = sample_sections();
  sections.push_back({"clint", 3, {7}});
  expect_state_error([&] { decode(encode(sections)); }, "'clint' appears twice");
}

}  // namespace
}  // namespace vessel::state
