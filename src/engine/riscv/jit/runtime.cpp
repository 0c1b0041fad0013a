#include "engine/riscv/jit/runtime.hpp"

#include "engine/riscv/hart.hpp"
#include "engine/riscv/jit/op_info.hpp"

namespace vessel::rv::jit {

namespace {
// SAFETY: generated code only ever runs with the HartState of a Hart (see
// BlockCache::enter in dispatch.cpp).
Hart& hart_of(HartState* state) {
  return *static_cast<Hart*>(state);
}
}  // namespace

namespace {
constexpr uint32_t kNV = 16, kDZ = 8, kOF = 4, kUF = 2, kNX = 1;
}  // namespace

const uint8_t Runtime::kHostToRvFlags[64] = {
#define VESSEL_HOST_TO_RV(m)                                                  \
  static_cast<uint8_t>((((m)&1) != 0 ? kNV : 0) | (((m)&4) != 0 ? kDZ : 0) |  \
                       (((m)&8) != 0 ? kOF : 0) | (((m)&16) != 0 ? kUF : 0) | \
                       (((m)&32) != 0 ? kNX : 0))
#define VESSEL_ROW(b)                                                               \
  VESSEL_HOST_TO_RV(b + 0), VESSEL_HOST_TO_RV(b + 1), VESSEL_HOST_TO_RV(b + 2),     \
      VESSEL_HOST_TO_RV(b + 3), VESSEL_HOST_TO_RV(b + 4), VESSEL_HOST_TO_RV(b + 5), \
      VESSEL_HOST_TO_RV(b + 6), VESSEL_HOST_TO_RV(b + 7)
    VESSEL_ROW(0),  VESSEL_ROW(8),  VESSEL_ROW(16), VESSEL_ROW(24),
    VESSEL_ROW(32), VESSEL_ROW(40), VESSEL_ROW(48), VESSEL_ROW(56),
#undef VESSEL_ROW
#undef VESSEL_HOST_TO_RV
};

const uint16_t Runtime::kRvToHostAllowed[32] = {
#define VESSEL_RV_TO_HOST(f)                                                      \
  static_cast<uint16_t>(2 | (((f)&kNV) != 0 ? 1 : 0) | (((f)&kDZ) != 0 ? 4 : 0) | \
                        (((f)&kOF) != 0 ? 8 : 0) | (((f)&kUF) != 0 ? 16 : 0) |    \
                        (((f)&kNX) != 0 ? 32 : 0))
#define VESSEL_ROW(b)                                                               \
  VESSEL_RV_TO_HOST(b + 0), VESSEL_RV_TO_HOST(b + 1), VESSEL_RV_TO_HOST(b + 2),     \
      VESSEL_RV_TO_HOST(b + 3), VESSEL_RV_TO_HOST(b + 4), VESSEL_RV_TO_HOST(b + 5), \
      VESSEL_RV_TO_HOST(b + 6), VESSEL_RV_TO_HOST(b + 7)
    VESSEL_ROW(0),
    VESSEL_ROW(8),
    VESSEL_ROW(16),
    VESSEL_ROW(24),
#undef VESSEL_ROW
#undef VESSEL_RV_TO_HOST
};

uint32_t Runtime::read_mxcsr() {
  uint32_t v;
  asm volatile("stmxcsr %0" : "=m"(v));
  return v;
}

void Runtime::prepare_mxcsr(uint32_t fflags) {
  const uint32_t m = read_mxcsr();
  if ((m & ~static_cast<uint32_t>(kRvToHostAllowed[fflags & 31])) != 0x1f80) {
    const uint32_t v = 0x1f80;
    asm volatile("ldmxcsr %0" : : "m"(v));
  }
}

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

uint64_t Runtime::atomic(HartState* state, uint64_t va, uint64_t packed) {
  Hart& h = hart_of(state);
  const auto op = static_cast<Op>(packed & 0xff);
  const auto amo = static_cast<AmoOp>((packed >> 8) & 0xff);
  const auto rd = static_cast<unsigned>((packed >> 16) & 0xff);
  const auto rs2 = static_cast<unsigned>((packed >> 24) & 0xff);
  uint64_t result = 0;
  if (!h.atomic(op, amo, va, h.x[rs2], result)) return 0;
  h.x[rd] = result;  // rd 32 is the x0 sink
  return 1;
}

uint64_t Runtime::csr(HartState* state, uint64_t packed) {
  Hart& h = hart_of(state);
  const auto op = static_cast<Op>(packed & 0xff);
  const auto number = static_cast<uint16_t>((packed >> 8) & 0xfff);
  const auto rd = static_cast<unsigned>((packed >> 24) & 0xff);
  const auto rs1 = static_cast<unsigned>((packed >> 32) & 0xff);
  const bool imm = op == Op::CSRRWI || op == Op::CSRRSI || op == Op::CSRRCI;
  const uint64_t operand = imm ? rs1 : h.x[rs1];
  // As the interpreter does (interp/system.inc): CSRRS/CSRRC with x0 or a
  // zero immediate only read.
  const bool write = op == Op::CSRRW || op == Op::CSRRWI || rs1 != 0;
  uint64_t old = 0;
  if (!h.csr_accessible(number, write) || !h.csr_read(number, old)) return 0;
  if (write) {
    const uint64_t base = h.csr_rmw_base(number, old);
    uint64_t value = operand;
    if (op == Op::CSRRS || op == Op::CSRRSI) value = base | operand;
    if (op == Op::CSRRC || op == Op::CSRRCI) value = base & ~operand;
    if (!h.csr_write(number, value)) return 0;
  }
  if (rd != 0 && rd < 32) h.x[rd] = old;
  return write && !csr_write_keeps_block(number) ? 2 : 1;
}

uint64_t Runtime::fp(HartState* state, uint64_t packed) {
  Hart& h = hart_of(state);
  h.fp.fflags |= kHostToRvFlags[read_mxcsr() & 63];  // what inline arithmetic accrued
  const auto op = static_cast<FpOp>(packed & 0xff);
  const auto field = [&](unsigned shift) {
    return static_cast<unsigned>((packed >> shift) & 0xff);
  };
  return fp_execute(op, field(8), h.fp, h.x, field(16), field(24), field(32), field(40)) ? 1 : 0;
}

}  // namespace vessel::rv::jit
