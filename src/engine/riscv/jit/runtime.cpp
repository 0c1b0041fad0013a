#include "engine/riscv/jit/runtime.hpp"

#include "engine/riscv/hart.hpp"

namespace vessel::rv::jit {

namespace {
// SAFETY: generated code only ever runs with the HartState of a Hart (see
// BlockCache::enter in dispatch.cpp).
Hart& hart_of(HartState* state) {
  return *static_cast<Hart*>(state);
}
}  // namespace

Runtime::LoadResult Runtime::load(HartState* state, uint64_t va, uint64_t kind) {
  Hart& h = hart_of(state);
  const unsigned size = static_cast<unsigned>(kind & 0xff);
  uint64_t v = 0;
  if (!h.load_slow(va, size, v)) return {0, 0};
  if ((kind & kSigned) != 0 && size < 8) {
    const unsigned shift = 64 - 8 * size;
    v = static_cast<uint64_t>(static_cast<int64_t>(v << shift) >> shift);
  }
  return {v, 1};
}

uint64_t Runtime::store(HartState* state, uint64_t va, uint64_t value, uint64_t size) {
  return hart_of(state).store_slow(va, static_cast<unsigned>(size), value) ? 1 : 0;
}

uint64_t Runtime::fp(HartState* state, uint64_t packed) {
  Hart& h = hart_of(state);
  const auto op = static_cast<FpOp>(packed & 0xff);
  const auto field = [&](unsigned shift) { return static_cast<unsigned>((packed >> shift) & 0xff); };
  return fp_execute(op, field(8), h.fp, h.x, field(16), field(24), field(32), field(40)) ? 1 : 0;
}

}  // namespace vessel::rv::jit
