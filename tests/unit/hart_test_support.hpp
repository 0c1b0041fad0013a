// Shared by the hart-level unit tests (test_hart, test_mmu, test_csr): a
// minimal RISC-V assembler and a tiny machine (RAM at 0x80000000, a bus with
// no devices, a deterministic clock) to run its output on.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <initializer_list>

#include "devices/bus.hpp"
#include "engine/riscv/code_cache.hpp"
#include "engine/riscv/csr_numbers.hpp"
#include "engine/riscv/hart.hpp"
#include "memory/guest_memory.hpp"
#include "platform/guest_clock.hpp"

namespace vessel::rv::test {

// ---- A minimal assembler (unprivileged spec, "Base Instruction Formats") ----
namespace as {
enum : uint32_t {
  zero,
  ra,
  sp,
  gp,
  tp,
  t0,
  t1,
  t2,
  s0,
  s1,
  a0,
  a1,
  a2,
  a3,
  a4,
  a5,
  a6,
  a7,
  s2,
  s3,
  s4,
  s5,
  s6,
  s7,
  s8,
  s9,
  s10,
  s11,
  t3,
  t4,
  t5,
  t6
};
constexpr uint32_t R(uint32_t f7, uint32_t rs2, uint32_t rs1, uint32_t f3, uint32_t rd,
                     uint32_t opc) {
  return (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc;
}
constexpr uint32_t I(int32_t imm, uint32_t rs1, uint32_t f3, uint32_t rd, uint32_t opc) {
  return (static_cast<uint32_t>(imm) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc;
}
constexpr uint32_t S(int32_t imm, uint32_t rs2, uint32_t rs1, uint32_t f3, uint32_t opc) {
  const auto u = static_cast<uint32_t>(imm);
  return (((u >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((u & 0x1f) << 7) |
         opc;
}
constexpr uint32_t B(int32_t imm, uint32_t rs2, uint32_t rs1, uint32_t f3) {
  const auto u = static_cast<uint32_t>(imm);
  return (((u >> 12) & 1) << 31) | (((u >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) |
         (f3 << 12) | (((u >> 1) & 0xf) << 8) | (((u >> 11) & 1) << 7) | 0x63;
}
constexpr uint32_t J(int32_t imm, uint32_t rd) {
  const auto u = static_cast<uint32_t>(imm);
  return (((u >> 20) & 1) << 31) | (((u >> 1) & 0x3ff) << 21) | (((u >> 11) & 1) << 20) |
         (((u >> 12) & 0xff) << 12) | (rd << 7) | 0x6f;
}
constexpr uint32_t addi(uint32_t rd, uint32_t rs1, int32_t imm) {
  return I(imm, rs1, 0, rd, 0x13);
}
constexpr uint32_t addiw(uint32_t rd, uint32_t rs1, int32_t imm) {
  return I(imm, rs1, 0, rd, 0x1b);
}
constexpr uint32_t slli(uint32_t rd, uint32_t rs1, int32_t sh) {
  return I(sh, rs1, 1, rd, 0x13);
}
constexpr uint32_t srli(uint32_t rd, uint32_t rs1, int32_t sh) {
  return I(sh, rs1, 5, rd, 0x13);
}
constexpr uint32_t srai(uint32_t rd, uint32_t rs1, int32_t sh) {
  return I(0x400 | sh, rs1, 5, rd, 0x13);
}
constexpr uint32_t sltiu(uint32_t rd, uint32_t rs1, int32_t imm) {
  return I(imm, rs1, 3, rd, 0x13);
}
constexpr uint32_t lui(uint32_t rd, uint32_t imm20) {
  return (imm20 << 12) | (rd << 7) | 0x37;
}
constexpr uint32_t auipc(uint32_t rd, uint32_t imm20) {
  return (imm20 << 12) | (rd << 7) | 0x17;
}
constexpr uint32_t add(uint32_t rd, uint32_t rs1, uint32_t rs2) {
  return R(0, rs2, rs1, 0, rd, 0x33);
}
constexpr uint32_t sub(uint32_t rd, uint32_t rs1, uint32_t rs2) {
  return R(0x20, rs2, rs1, 0, rd, 0x33);
}
constexpr uint32_t slt(uint32_t rd, uint32_t rs1, uint32_t rs2) {
  return R(0, rs2, rs1, 2, rd, 0x33);
}
constexpr uint32_t sltu(uint32_t rd, uint32_t rs1, uint32_t rs2) {
  return R(0, rs2, rs1, 3, rd, 0x33);
}
constexpr uint32_t sraw(uint32_t rd, uint32_t rs1, uint32_t rs2) {
  return R(0x20, rs2, rs1, 5, rd, 0x3b);
}
constexpr uint32_t mul(uint32_t rd, uint32_t rs1, uint32_t rs2) {
  return R(1, rs2, rs1, 0, rd, 0x33);
}
constexpr uint32_t mulhu(uint32_t rd, uint32_t rs1, uint32_t rs2) {
  return R(1, rs2, rs1, 3, rd, 0x33);
}
constexpr uint32_t mulh(uint32_t rd, uint32_t rs1, uint32_t rs2) {
  return R(1, rs2, rs1, 1, rd, 0x33);
}
constexpr uint32_t div(uint32_t rd, uint32_t rs1, uint32_t rs2) {
  return R(1, rs2, rs1, 4, rd, 0x33);
}
constexpr uint32_t divu(uint32_t rd, uint32_t rs1, uint32_t rs2) {
  return R(1, rs2, rs1, 5, rd, 0x33);
}
constexpr uint32_t rem(uint32_t rd, uint32_t rs1, uint32_t rs2) {
  return R(1, rs2, rs1, 6, rd, 0x33);
}
constexpr uint32_t divw(uint32_t rd, uint32_t rs1, uint32_t rs2) {
  return R(1, rs2, rs1, 4, rd, 0x3b);
}
constexpr uint32_t remw(uint32_t rd, uint32_t rs1, uint32_t rs2) {
  return R(1, rs2, rs1, 6, rd, 0x3b);
}
constexpr uint32_t sh2add(uint32_t rd, uint32_t rs1, uint32_t rs2) {
  return R(0x10, rs2, rs1, 4, rd, 0x33);
}
constexpr uint32_t clz(uint32_t rd, uint32_t rs1) {
  return I(0x600, rs1, 1, rd, 0x13);
}
constexpr uint32_t cpop(uint32_t rd, uint32_t rs1) {
  return I(0x602, rs1, 1, rd, 0x13);
}
constexpr uint32_t rev8(uint32_t rd, uint32_t rs1) {
  return I(0x6b8, rs1, 5, rd, 0x13);
}
constexpr uint32_t orc_b(uint32_t rd, uint32_t rs1) {
  return I(0x287, rs1, 5, rd, 0x13);
}
constexpr uint32_t minu(uint32_t rd, uint32_t rs1, uint32_t rs2) {
  return R(0x05, rs2, rs1, 5, rd, 0x33);
}
constexpr uint32_t bseti(uint32_t rd, uint32_t rs1, int32_t sh) {
  return I(0x280 | sh, rs1, 1, rd, 0x13);
}
constexpr uint32_t rori(uint32_t rd, uint32_t rs1, int32_t sh) {
  return I(0x600 | sh, rs1, 5, rd, 0x13);
}
constexpr uint32_t jal(uint32_t rd, int32_t off) {
  return J(off, rd);
}
constexpr uint32_t jalr(uint32_t rd, uint32_t rs1, int32_t imm) {
  return I(imm, rs1, 0, rd, 0x67);
}
constexpr uint32_t beq(uint32_t rs1, uint32_t rs2, int32_t off) {
  return B(off, rs2, rs1, 0);
}
constexpr uint32_t bne(uint32_t rs1, uint32_t rs2, int32_t off) {
  return B(off, rs2, rs1, 1);
}
constexpr uint32_t blt(uint32_t rs1, uint32_t rs2, int32_t off) {
  return B(off, rs2, rs1, 4);
}
constexpr uint32_t ld(uint32_t rd, uint32_t rs1, int32_t imm) {
  return I(imm, rs1, 3, rd, 0x03);
}
constexpr uint32_t lw(uint32_t rd, uint32_t rs1, int32_t imm) {
  return I(imm, rs1, 2, rd, 0x03);
}
constexpr uint32_t sd(uint32_t rs2, uint32_t rs1, int32_t imm) {
  return S(imm, rs2, rs1, 3, 0x23);
}
constexpr uint32_t sw(uint32_t rs2, uint32_t rs1, int32_t imm) {
  return S(imm, rs2, rs1, 2, 0x23);
}
constexpr uint32_t sh(uint32_t rs2, uint32_t rs1, int32_t imm) {
  return S(imm, rs2, rs1, 1, 0x23);
}
constexpr uint32_t lr_w(uint32_t rd, uint32_t rs1) {
  return R(0x02 << 2, 0, rs1, 2, rd, 0x2f);
}
constexpr uint32_t sc_w(uint32_t rd, uint32_t rs2, uint32_t rs1) {
  return R(0x03 << 2, rs2, rs1, 2, rd, 0x2f);
}
constexpr uint32_t amoswap_w(uint32_t rd, uint32_t rs2, uint32_t rs1) {
  return R(0x01 << 2, rs2, rs1, 2, rd, 0x2f);
}
constexpr uint32_t amoadd_w(uint32_t rd, uint32_t rs2, uint32_t rs1) {
  return R(0x00, rs2, rs1, 2, rd, 0x2f);
}
constexpr uint32_t amoadd_d(uint32_t rd, uint32_t rs2, uint32_t rs1) {
  return R(0x00, rs2, rs1, 3, rd, 0x2f);
}
// Zicsr: funct3 1-3 take rs1, 5-7 a 5-bit immediate in the rs1 field.
constexpr uint32_t csr_op(uint32_t f3, uint32_t rd, uint32_t csr, uint32_t rs1) {
  return I(static_cast<int32_t>(csr), rs1, f3, rd, 0x73);
}
constexpr uint32_t csrrw(uint32_t rd, uint32_t csr, uint32_t rs1) {
  return csr_op(1, rd, csr, rs1);
}
constexpr uint32_t csrrs(uint32_t rd, uint32_t csr, uint32_t rs1) {
  return csr_op(2, rd, csr, rs1);
}
constexpr uint32_t csrrc(uint32_t rd, uint32_t csr, uint32_t rs1) {
  return csr_op(3, rd, csr, rs1);
}
constexpr uint32_t csrrwi(uint32_t rd, uint32_t csr, uint32_t imm) {
  return csr_op(5, rd, csr, imm);
}
constexpr uint32_t csrrsi(uint32_t rd, uint32_t csr, uint32_t imm) {
  return csr_op(6, rd, csr, imm);
}
constexpr uint32_t csrrci(uint32_t rd, uint32_t csr, uint32_t imm) {
  return csr_op(7, rd, csr, imm);
}
constexpr uint32_t csrw(uint32_t csr, uint32_t rs1) {
  return csrrw(zero, csr, rs1);
}
constexpr uint32_t csrr(uint32_t rd, uint32_t csr) {
  return csrrs(rd, csr, zero);
}
constexpr uint32_t csrs(uint32_t csr, uint32_t rs1) {
  return csrrs(zero, csr, rs1);
}
constexpr uint32_t sfence_vma(uint32_t rs1, uint32_t rs2) {
  return (0x09u << 25) | (rs2 << 20) | (rs1 << 15) | 0x73;
}
constexpr uint32_t fadd_d(uint32_t rd, uint32_t rs1, uint32_t rs2) {
  return (0x01u << 25) | (rs2 << 20) | (rs1 << 15) | (7u << 12) | (rd << 7) | 0x53;
}
constexpr uint32_t fmul_d(uint32_t rd, uint32_t rs1, uint32_t rs2) {
  return (0x09u << 25) | (rs2 << 20) | (rs1 << 15) | (7u << 12) | (rd << 7) | 0x53;
}
constexpr uint32_t fld(uint32_t rd, uint32_t rs1, int32_t imm) {
  return I(imm, rs1, 3, rd, 0x07);
}
constexpr uint32_t fsd(uint32_t rs2, uint32_t rs1, int32_t imm) {
  const auto u = static_cast<uint32_t>(imm);
  return ((u >> 5) << 25) | (rs2 << 20) | (rs1 << 15) | (3u << 12) | ((u & 31) << 7) | 0x27;
}
constexpr uint32_t kEcall = 0x00000073, kEbreak = 0x00100073, kMret = 0x30200073,
                   kSret = 0x10200073, kWfi = 0x10500073, kFenceI = 0x0000100f, kNop = 0x00000013;
}  // namespace as

constexpr uint64_t kRam = 0x80000000;

// The machine a test fixture runs the hart on; `ram_size` bytes of RAM at kRam.
// Fixtures derive from it (next to ::testing::Test) so that tests see mem,
// hart, stop... directly.
class TestMachine {
 public:
  explicit TestMachine(uint64_t ram_size) : mem{kRam, ram_size} {}

  // Writes 32-bit instruction words from `addr`; returns the address after them.
  uint64_t put(uint64_t addr, std::initializer_list<uint32_t> words) {
    for (uint32_t w : words) {
      put32(addr, w);
      addr += 4;
    }
    return addr;
  }
  void put32(uint64_t addr, uint32_t w) {
    const std::array<uint8_t, 4> b = {static_cast<uint8_t>(w), static_cast<uint8_t>(w >> 8),
                                      static_cast<uint8_t>(w >> 16), static_cast<uint8_t>(w >> 24)};
    ASSERT_TRUE(mem.write(addr, b));
  }
  void put16(uint64_t addr, uint16_t h) {
    const std::array<uint8_t, 2> b = {static_cast<uint8_t>(h), static_cast<uint8_t>(h >> 8)};
    ASSERT_TRUE(mem.write(addr, b));
  }
  void write64(uint64_t addr, uint64_t v) {
    std::array<uint8_t, 8> b{};
    for (unsigned i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
    ASSERT_TRUE(mem.write(addr, b));
  }
  uint64_t read64(uint64_t addr) {
    std::array<uint8_t, 8> b{};
    EXPECT_TRUE(mem.read(addr, b));
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; ++i) v |= uint64_t{b[i]} << (8 * i);
    return v;
  }
  uint64_t peek64(uint64_t addr) { return read64(addr); }

  uint64_t run(uint64_t budget) { return hart.run(budget, stop); }
  uint64_t csr(uint16_t n) { return hart.read_csr_raw(n); }

  GuestMemory mem;
  Bus bus;
  CodeCache code{mem};
  uint64_t clock_source = 0;
  GuestClock clock{GuestClock::Mode::kDeterministic, &clock_source};
  HartIrqPins pins;
  Hart hart{0, mem, bus, code, clock, pins};
  StopReason stop = StopReason::kBudget;
};

}  // namespace vessel::rv::test
