// RISC-V integer semantics that are more than one C++ operator: the
// M extension's high multiplies and its division rules (no trap: x/0 is all
// ones, x%0 is x, the one overflowing division gives the dividend), the W
// forms' sign extension, Zbb's orc.b. The interpreter's handlers use them;
// the translator emits x86 for the same rules and its tests check against
// these (unit tests compare both engines).
#pragma once

#include <cstdint>

namespace vessel::rv::alu {

constexpr uint64_t sext32(uint64_t v) {
  return static_cast<uint64_t>(
      static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(v))));
}

constexpr uint64_t mulhu(uint64_t a, uint64_t b) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(a) * b) >> 64);
}
constexpr uint64_t mulh(uint64_t a, uint64_t b) {
  return static_cast<uint64_t>(
      (static_cast<__int128>(static_cast<int64_t>(a)) * static_cast<int64_t>(b)) >> 64);
}
constexpr uint64_t mulhsu(uint64_t a, uint64_t b) {
  return static_cast<uint64_t>(
      (static_cast<__int128>(static_cast<int64_t>(a)) * static_cast<__int128>(b)) >> 64);
}

constexpr uint64_t div(uint64_t a, uint64_t b) {
  const auto x = static_cast<int64_t>(a), y = static_cast<int64_t>(b);
  if (y == 0) return ~uint64_t{0};
  if (x == INT64_MIN && y == -1) return a;
  return static_cast<uint64_t>(x / y);
}
constexpr uint64_t divu(uint64_t a, uint64_t b) {
  return b == 0 ? ~uint64_t{0} : a / b;
}
constexpr uint64_t rem(uint64_t a, uint64_t b) {
  const auto x = static_cast<int64_t>(a), y = static_cast<int64_t>(b);
  if (y == 0) return a;
  if (x == INT64_MIN && y == -1) return 0;
  return static_cast<uint64_t>(x % y);
}
constexpr uint64_t remu(uint64_t a, uint64_t b) {
  return b == 0 ? a : a % b;
}

constexpr uint64_t divw(uint64_t a, uint64_t b) {
  const auto x = static_cast<int32_t>(a), y = static_cast<int32_t>(b);
  if (y == 0) return ~uint64_t{0};
  if (x == INT32_MIN && y == -1) return sext32(a);
  return static_cast<uint64_t>(static_cast<int64_t>(x / y));
}
constexpr uint64_t divuw(uint64_t a, uint64_t b) {
  const auto x = static_cast<uint32_t>(a), y = static_cast<uint32_t>(b);
  return y == 0 ? ~uint64_t{0} : sext32(x / y);
}
constexpr uint64_t remw(uint64_t a, uint64_t b) {
  const auto x = static_cast<int32_t>(a), y = static_cast<int32_t>(b);
  if (y == 0) return sext32(a);
  if (x == INT32_MIN && y == -1) return 0;
  return static_cast<uint64_t>(static_cast<int64_t>(x % y));
}
constexpr uint64_t remuw(uint64_t a, uint64_t b) {
  const auto x = static_cast<uint32_t>(a), y = static_cast<uint32_t>(b);
  return sext32(y == 0 ? x : x % y);
}

constexpr uint64_t orc_b(uint64_t v) {
  uint64_t r = 0;
  for (unsigned i = 0; i < 8; ++i) {
    if (((v >> (8 * i)) & 0xff) != 0) r |= uint64_t{0xff} << (8 * i);
  }
  return r;
}

}  // namespace vessel::rv::alu
