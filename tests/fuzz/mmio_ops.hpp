// Shared by the device fuzzers: turns the fuzz input into a sequence of
// guest MMIO accesses (and device-specific host events) against one device,
// the way a hostile guest would poke it.
#pragma once

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "devices/bus.hpp"

// An invariant the device must keep whatever the guest does.
#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

namespace vessel::fuzz {

struct MmioOp {
  enum class Kind { kRead, kWrite, kEvent };
  Kind kind;
  uint64_t offset;
  unsigned size;
  uint64_t value;
};

// `interesting(in)` proposes an offset near a real register; the rest of the
// time the offset is anywhere in the window, or anywhere at all.
template <typename Interesting>
MmioOp next_op(FuzzedDataProvider& in, uint64_t window, Interesting interesting) {
  MmioOp op{};
  const auto kind = in.ConsumeIntegralInRange<unsigned>(0, 7);
  op.kind =
      kind < 3 ? MmioOp::Kind::kRead : (kind < 6 ? MmioOp::Kind::kWrite : MmioOp::Kind::kEvent);
  switch (in.ConsumeIntegralInRange<unsigned>(0, 7)) {
    case 0: op.offset = in.ConsumeIntegralInRange<uint64_t>(0, window - 1); break;
    case 1: op.offset = in.ConsumeIntegral<uint64_t>(); break;
    default: op.offset = interesting(in); break;
  }
  // The bus only delivers 1, 2, 4 and 8 bytes; a few odd sizes check that
  // devices refuse rather than misbehave.
  op.size = in.PickValueInArray({1u, 2u, 4u, 8u, 1u, 2u, 4u, 8u, 4u, 4u, 0u, 3u, 16u});
  op.value = in.ConsumeIntegral<uint64_t>();
  return op;
}

// Performs a read or write; returns the value read (0 for writes).
inline uint64_t apply(MmioDevice& dev, const MmioOp& op) {
  uint64_t value = 0;
  if (op.kind == MmioOp::Kind::kRead) {
    if (!dev.mmio_read(op.offset, op.size, value)) value = 0;
  } else {
    dev.mmio_write(op.offset, op.size, op.value);
  }
  return value;
}

// A read of `size` bytes must not set bits above them.
inline bool fits(uint64_t value, unsigned size) {
  return size >= 8 || (value >> (8 * size)) == 0;
}

}  // namespace vessel::fuzz
