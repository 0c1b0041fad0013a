#include "base/state.hpp"

#include <xxhash.h>

#include <cstring>

namespace vessel::state {

void Writer::put(const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  data_.insert(data_.end(), b, b + n);
}

void Writer::bytes(std::span<const uint8_t> v) {
  u64(v.size());
  put(v.data(), v.size());
}

void Writer::str(std::string_view v) {
  u64(v.size());
  put(v.data(), v.size());
}

void Writer::u64s(std::span<const uint64_t> v) {
  for (uint64_t x : v) u64(x);
}

void Reader::get(void* p, size_t n) {
  if (n > remaining()) state_fail("state section '{}' is truncated", what_);
  std::memcpy(p, data_.data() + pos_, n);
  pos_ += n;
}

uint8_t Reader::u8() {
  uint8_t v;
  get(&v, 1);
  return v;
}
uint16_t Reader::u16() {
  uint16_t v;
  get(&v, 2);
  return v;
}
uint32_t Reader::u32() {
  uint32_t v;
  get(&v, 4);
  return v;
}
uint64_t Reader::u64() {
  uint64_t v;
  get(&v, 8);
  return v;
}

bool Reader::boolean() {
  const uint8_t v = u8();
  if (v > 1) state_fail("state section '{}': bad boolean {}", what_, v);
  return v == 1;
}

std::vector<uint8_t> Reader::bytes(uint64_t max) {
  const uint64_t n = u64();
  if (n > max || n > remaining()) {
    state_fail("state section '{}': field of {} bytes is too long", what_, n);
  }
  std::vector<uint8_t> out(data_.begin() + static_cast<ptrdiff_t>(pos_),
                           data_.begin() + static_cast<ptrdiff_t>(pos_ + n));
  pos_ += n;
  return out;
}

std::string Reader::str(uint64_t max) {
  const std::vector<uint8_t> b = bytes(max);
  return std::string(b.begin(), b.end());
}

void Reader::u64s(std::span<uint64_t> out) {
  for (uint64_t& x : out) x = u64();
}

std::span<const uint8_t> Reader::raw(uint64_t n) {
  if (n > remaining()) state_fail("state section '{}' is truncated", what_);
  const std::span<const uint8_t> out = data_.subspan(pos_, n);
  pos_ += n;
  return out;
}

uint64_t Reader::u64_at_most(uint64_t max, std::string_view field) {
  const uint64_t v = u64();
  if (v > max) state_fail("state section '{}': bad {} ({:#x})", what_, field, v);
  return v;
}

void Reader::expect_end() const {
  if (remaining() != 0) {
    state_fail("state section '{}' has {} unexpected trailing bytes", what_, remaining());
  }
}

namespace {

// Covers a section's name and version as well as its payload, so a flipped
// byte anywhere in a section is caught, not read as another section.
uint64_t section_checksum(std::string_view name, uint32_t version,
                          std::span<const uint8_t> payload) {
  uint64_t h = XXH64(name.data(), name.size(), 0);
  h = XXH64(&version, sizeof version, h);
  return XXH64(payload.data(), payload.size(), h);
}

}  // namespace

std::vector<uint8_t> encode(const std::vector<Section>& sections) {
  Writer w;
  w.u64(kMagic);
  w.u32(kFormatVersion);
  w.u32(static_cast<uint32_t>(sections.size()));
  for (const Section& s : sections) {
    w.str(s.name);
    w.u32(s.version);
    w.u64(s.payload.size());
    w.u64(section_checksum(s.name, s.version, s.payload));
    w.raw(s.payload);
  }
  return w.take();
}

std::vector<Section> decode(std::span<const uint8_t> blob) {
  Reader r(blob, "header");
  if (blob.size() < 16) state_fail("not a vessel state blob (only {} bytes)", blob.size());
  if (r.u64() != kMagic) state_fail("not a vessel state blob (bad magic number)");
  const uint32_t version = r.u32();
  if (version != kFormatVersion) {
    state_fail("state format version {}, this vessel reads version {}", version, kFormatVersion);
  }
  const uint32_t count = r.u32();
  if (count > kMaxSections)
    state_fail("state blob claims {} sections (limit {})", count, kMaxSections);
  std::vector<Section> sections;
  for (uint32_t i = 0; i < count; ++i) {
    Section s;
    s.name = r.str(kMaxNameBytes);
    s.version = r.u32();
    const uint64_t length = r.u64();
    const uint64_t checksum = r.u64();
    if (length > kMaxSectionBytes || length > r.remaining()) {
      state_fail("state section '{}' is truncated or too large ({} bytes)", s.name, length);
    }
    const std::span<const uint8_t> payload = r.raw(length);
    s.payload.assign(payload.begin(), payload.end());
    if (section_checksum(s.name, s.version, payload) != checksum) {
      state_fail("checksum mismatch in state section '{}'", s.name);
    }
    for (const Section& earlier : sections) {
      if (earlier.name == s.name) state_fail("state section '{}' appears twice", s.name);
    }
    sections.push_back(std::move(s));
  }
  r.expect_end();
  return sections;
}

const Section& find(const std::vector<Section>& sections, std::string_view name, uint32_t version) {
  for (const Section& s : sections) {
    if (s.name != name) continue;
    if (s.version != version) {
      state_fail("state section '{}' has version {}, this vessel reads version {}", name, s.version,
                 version);
    }
    return s;
  }
  state_fail("state blob has no section '{}'", name);
}

}  // namespace vessel::state
