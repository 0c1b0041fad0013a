// VM state as data: the one format that snapshots, live migration and (later)
// record/replay share.
//
// A state blob is a container of named sections, one per stateful part
// ("hart0", "clint", "plic", "uart", "virtio0", ...). Each part writes its own
// fields into a section with a Writer and reads them back with a Reader; the
// container adds a magic number, a format version, and per section a version,
// a length and an xxh64 checksum. A blob comes from a file or a socket, so
// it is hostile input: every length is checked against a limit before
// anything is allocated, and every read past the end throws StateError.
//
// Guest memory is not in the blob: it travels separately (a memory file that
// restore maps, or page batches on the migration stream).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"

namespace vessel::state {

// A malformed, truncated or mismatched state blob. Derives from Error so the
// CLI prints it as one line.
class StateError : public Error {
 public:
  using Error::Error;
};

template <typename... Args>
[[noreturn]] void state_fail(fmt::format_string<Args...> format, Args&&... args) {
  throw StateError(fmt::format(format, std::forward<Args>(args)...));
}

inline constexpr uint64_t kMagic = 0x5453'4c45'5353'4556;  // "VESSELST" little-endian
inline constexpr uint32_t kFormatVersion = 1;
// Limits checked before allocating: no part of vessel has more state than this.
inline constexpr uint32_t kMaxSections = 4096;
inline constexpr uint64_t kMaxSectionBytes = 64ull << 20;
inline constexpr size_t kMaxNameBytes = 64;

// Appends little-endian fields to one section's payload.
class Writer {
 public:
  void u8(uint8_t v) { put(&v, 1); }
  void u16(uint16_t v) { put(&v, 2); }
  void u32(uint32_t v) { put(&v, 4); }
  void u64(uint64_t v) { put(&v, 8); }
  void boolean(bool v) { u8(v ? 1 : 0); }
  // A length (u64) followed by the bytes.
  void bytes(std::span<const uint8_t> v);
  void str(std::string_view v);
  // A fixed number of u64 values, without a length (the reader knows it).
  void u64s(std::span<const uint64_t> v);
  // Bytes without a length (the reader knows it).
  void raw(std::span<const uint8_t> v) { put(v.data(), v.size()); }

  const std::vector<uint8_t>& data() const { return data_; }
  std::vector<uint8_t> take() { return std::move(data_); }

 private:
  void put(const void* p, size_t n);
  std::vector<uint8_t> data_;
};

// Reads fields back; any read past the end throws StateError naming `what`
// (the section), so a truncated blob gives one clear line.
class Reader {
 public:
  Reader(std::span<const uint8_t> data, std::string what) : data_(data), what_(std::move(what)) {}

  uint8_t u8();
  uint16_t u16();
  uint32_t u32();
  uint64_t u64();
  bool boolean();  // throws unless the byte is 0 or 1
  // Length-prefixed; throws if the length exceeds `max` or what is left.
  std::vector<uint8_t> bytes(uint64_t max);
  std::string str(uint64_t max);
  void u64s(std::span<uint64_t> out);
  // The next `n` bytes, without a length prefix; a view into the blob.
  std::span<const uint8_t> raw(uint64_t n);
  // For values restore must range-check: throws "<what>: bad <field>".
  uint64_t u64_at_most(uint64_t max, std::string_view field);

  size_t remaining() const { return data_.size() - pos_; }
  // Throws unless every byte was consumed (catches a layout mismatch).
  void expect_end() const;
  const std::string& what() const { return what_; }

 private:
  void get(void* p, size_t n);
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  std::string what_;
};

struct Section {
  std::string name;
  uint32_t version = 0;
  std::vector<uint8_t> payload;
};

// Encodes sections into one blob: magic, format version, section count, then
// per section: name, version, payload length, xxh64(name, version,
// payload), payload.
std::vector<uint8_t> encode(const std::vector<Section>& sections);

// Decodes and verifies a blob: magic, format version, counts, lengths and
// checksums, all before trusting any of it. Throws StateError with one line
// saying what is wrong ("not a vessel state blob", "truncated", "checksum
// mismatch in section 'plic'", "format version 7, this vessel reads 1").
std::vector<Section> decode(std::span<const uint8_t> blob);

// The section named `name`, or a StateError if it is missing or its version
// is not `version`.
const Section& find(const std::vector<Section>& sections, std::string_view name, uint32_t version);

}  // namespace vessel::state
