// F/D semantics: hand-derived IEEE 754 / RISC-V results and flags per op and
// rounding mode, then randomized cross-checks of the host (SSE) path against
// the software path and of RMM against an independent tie oracle.
#include "engine/riscv/fpu.hpp"

#include <gtest/gtest.h>

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif
#include <bit>
#include <cfenv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

namespace vessel::rv {
namespace detail {
// fpu.cpp: the same ops computed purely in software.
bool fp_execute_soft(FpOp op, unsigned rm, FpState& fp, uint64_t* x, unsigned rd, unsigned rs1,
                     unsigned rs2, unsigned rs3);
}  // namespace detail

namespace {

constexpr uint32_t kNV = 16;
constexpr uint32_t kDZ = 8;
constexpr uint32_t kOF = 4;
constexpr uint32_t kUF = 2;
constexpr uint32_t kNX = 1;

constexpr unsigned kRNE = 0;
constexpr unsigned kRTZ = 1;
constexpr unsigned kRDN = 2;
constexpr unsigned kRUP = 3;
constexpr unsigned kRMM = 4;
constexpr unsigned kDYN = 7;

constexpr uint64_t kBox = 0xffffffff00000000ull;
constexpr uint64_t kQNaN32 = kBox | 0x7fc00000u;  // canonical, boxed
constexpr uint64_t kQNaN64 = 0x7ff8000000000000ull;

uint64_t sb(uint32_t bits) {
  return kBox | bits;
}  // boxed single from bits
uint64_t sf(float v) {
  return sb(std::bit_cast<uint32_t>(v));
}
uint64_t df(double v) {
  return std::bit_cast<uint64_t>(v);
}

struct Out {
  bool ok;
  uint64_t f;      // f[rd]
  uint64_t x;      // x[rd]
  uint32_t flags;  // fflags after
  uint64_t result(FpOp op) const { return fp_writes_x(op) ? x : f; }
};

// f1 = a, f2 = b, f3 = c, x1 = a; rd = 5.
Out run(FpOp op, unsigned rm, uint64_t a, uint64_t b = 0, uint64_t c = 0, bool soft = false,
        uint32_t frm = 0, uint32_t fflags = 0) {
  FpState fp;
  fp.frm = frm;
  fp.fflags = fflags;
  uint64_t x[33] = {};
  fp.f[1] = a;
  fp.f[2] = b;
  fp.f[3] = c;
  x[1] = a;
  fp.f[5] = 0x5555555555555555ull;
  x[5] = 0x5555555555555555ull;
  const bool ok = soft ? detail::fp_execute_soft(op, rm, fp, x, 5, 1, 2, 3)
                       : fp_execute(op, rm, fp, x, 5, 1, 2, 3);
  return {ok, fp.f[5], x[5], fp.fflags};
}

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// Checks both implementations against the expected result and flags.
::testing::AssertionResult check(FpOp op, unsigned rm, uint64_t a, uint64_t b, uint64_t c,
                                 uint64_t want, uint32_t want_flags) {
  for (int soft = 0; soft < 2; ++soft) {
    const Out o = run(op, rm, a, b, c, soft != 0);
    if (!o.ok || o.result(op) != want || o.flags != want_flags) {
      return ::testing::AssertionFailure()
             << (soft != 0 ? "soft" : "host") << " op=" << static_cast<int>(op) << " rm=" << rm
             << " a=" << hex(a) << " b=" << hex(b) << " c=" << hex(c) << ": got "
             << hex(o.result(op)) << " flags " << o.flags << " ok " << o.ok << ", want "
             << hex(want) << " flags " << want_flags;
    }
  }
  return ::testing::AssertionSuccess();
}

// Expected values for the five modes, in order RNE RTZ RDN RUP RMM.
struct PerMode {
  uint64_t v[5];
};

void check_modes(FpOp op, uint64_t a, uint64_t b, uint64_t c, PerMode want, uint32_t flags) {
  for (unsigned rm = 0; rm < 5; ++rm) EXPECT_TRUE(check(op, rm, a, b, c, want.v[rm], flags));
}

// ---- basic arithmetic, all five modes -------------------------------------

TEST(Fpu, OneThirdSingle) {
  // 1/3 = 1.0101...b * 2^-2; the 23-bit fraction 0x2aaaaa leaves 2/3 ulp.
  check_modes(FpOp::FDIV_S, sf(1.0f), sf(3.0f), 0,
              {{sb(0x3eaaaaab), sb(0x3eaaaaaa), sb(0x3eaaaaaa), sb(0x3eaaaaab), sb(0x3eaaaaab)}},
              kNX);
  check_modes(FpOp::FDIV_S, sf(-1.0f), sf(3.0f), 0,
              {{sb(0xbeaaaaab), sb(0xbeaaaaaa), sb(0xbeaaaaab), sb(0xbeaaaaaa), sb(0xbeaaaaab)}},
              kNX);
}

TEST(Fpu, OneThirdDouble) {
  // The 52-bit fraction 0x5555555555555 leaves 1/3 ulp.
  check_modes(FpOp::FDIV_D, df(1.0), df(3.0), 0,
              {{0x3fd5555555555555, 0x3fd5555555555555, 0x3fd5555555555555, 0x3fd5555555555556,
                0x3fd5555555555555}},
              kNX);
  check_modes(FpOp::FDIV_D, df(-1.0), df(3.0), 0,
              {{0xbfd5555555555555, 0xbfd5555555555555, 0xbfd5555555555556, 0xbfd5555555555555,
                0xbfd5555555555555}},
              kNX);
}

TEST(Fpu, ExactResultsHaveNoFlags) {
  check_modes(FpOp::FADD_D, df(1.5), df(2.25), 0,
              {{df(3.75), df(3.75), df(3.75), df(3.75), df(3.75)}}, 0);
  check_modes(FpOp::FMUL_S, sf(3.0f), sf(-0.5f), 0,
              {{sf(-1.5f), sf(-1.5f), sf(-1.5f), sf(-1.5f), sf(-1.5f)}}, 0);
  check_modes(FpOp::FSQRT_D, df(6.25), 0, 0, {{df(2.5), df(2.5), df(2.5), df(2.5), df(2.5)}}, 0);
}

TEST(Fpu, RmmTies) {
  // 1 + 2^-24 is exactly half an ulp above 1.0f: RNE keeps the even 1.0,
  // RMM goes away from zero.
  check_modes(FpOp::FADD_S, sf(1.0f), sf(0x1p-24f), 0,
              {{sf(1.0f), sf(1.0f), sf(1.0f), sb(0x3f800001), sb(0x3f800001)}}, kNX);
  check_modes(FpOp::FSUB_S, sf(-1.0f), sf(0x1p-24f), 0,
              {{sf(-1.0f), sf(-1.0f), sb(0xbf800001), sf(-1.0f), sb(0xbf800001)}}, kNX);
  // 1 + 3*2^-24: tie between odd 1+2^-23 and even 1+2^-22; RNE and RMM agree.
  check_modes(FpOp::FADD_S, sf(1.0f + 0x1p-23f), sf(0x1p-24f), 0,
              {{sb(0x3f800002), sb(0x3f800001), sb(0x3f800001), sb(0x3f800002), sb(0x3f800002)}},
              kNX);
  check_modes(FpOp::FADD_D, df(1.0), df(0x1p-53), 0,
              {{df(1.0), df(1.0), df(1.0), 0x3ff0000000000001, 0x3ff0000000000001}}, kNX);
  // (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24: a tie in a product.
  check_modes(FpOp::FMUL_S, sb(0x3f800800), sb(0x3f800800), 0,
              {{sb(0x3f801000), sb(0x3f801000), sb(0x3f801000), sb(0x3f801001), sb(0x3f801001)}},
              kNX);
  // (1 + 2^-26)(1 + 2^-27) = 1 + 2^-26 + 2^-27 + 2^-53.
  check_modes(FpOp::FMUL_D, 0x3ff0000004000000, 0x3ff0000002000000, 0,
              {{0x3ff0000006000000, 0x3ff0000006000000, 0x3ff0000006000000, 0x3ff0000006000001,
                0x3ff0000006000001}},
              kNX);
  // fma: (1 + 2^-12)^2 + 2^-22 = 1 + 2^-11 + 2^-22 + 2^-24, a tie.
  check_modes(FpOp::FMADD_S, sb(0x3f800800), sb(0x3f800800), sf(0x1p-22f),
              {{sb(0x3f801002), sb(0x3f801002), sb(0x3f801002), sb(0x3f801003), sb(0x3f801003)}},
              kNX);
  // Quotient tie in the subnormal range: 3*2^-149 / 2 = 1.5 * 2^-149.
  check_modes(FpOp::FDIV_S, sb(3), sf(2.0f), 0, {{sb(2), sb(1), sb(1), sb(2), sb(2)}}, kNX | kUF);
  check_modes(FpOp::FDIV_S, sb(0x80000003), sf(2.0f), 0,
              {{sb(0x80000002), sb(0x80000001), sb(0x80000002), sb(0x80000001), sb(0x80000002)}},
              kNX | kUF);
}

TEST(Fpu, Overflow) {
  const float fmax = 0x1.fffffep127f;
  check_modes(FpOp::FMUL_S, sf(fmax), sf(2.0f), 0,
              {{sb(0x7f800000), sb(0x7f7fffff), sb(0x7f7fffff), sb(0x7f800000), sb(0x7f800000)}},
              kOF | kNX);
  check_modes(FpOp::FMUL_S, sf(-fmax), sf(2.0f), 0,
              {{sb(0xff800000), sb(0xff7fffff), sb(0xff800000), sb(0xff7fffff), sb(0xff800000)}},
              kOF | kNX);
  const double dmax = 0x1.fffffffffffffp1023;
  check_modes(FpOp::FADD_D, df(dmax), df(dmax), 0,
              {{0x7ff0000000000000, 0x7fefffffffffffff, 0x7fefffffffffffff, 0x7ff0000000000000,
                0x7ff0000000000000}},
              kOF | kNX);
  check_modes(FpOp::FSUB_D, df(-dmax), df(dmax), 0,
              {{0xfff0000000000000, 0xffefffffffffffff, 0xfff0000000000000, 0xffefffffffffffff,
                0xfff0000000000000}},
              kOF | kNX);
  // max + 1/2 ulp: RNE and RMM overflow (the tie rounds to 2^1024), RTZ/RDN
  // keep max and are merely inexact, RUP overflows.
  EXPECT_TRUE(check(FpOp::FADD_D, kRMM, df(dmax), df(0x1p970), 0, 0x7ff0000000000000, kOF | kNX));
  EXPECT_TRUE(check(FpOp::FADD_D, kRTZ, df(dmax), df(0x1p970), 0, df(dmax), kNX));
  EXPECT_TRUE(check(FpOp::FADD_D, kRDN, df(dmax), df(0x1p970), 0, df(dmax), kNX));
  EXPECT_TRUE(check(FpOp::FADD_D, kRUP, df(dmax), df(0x1p970), 0, 0x7ff0000000000000, kOF | kNX));
  // Less than half an ulp above max is never an overflow in RNE.
  EXPECT_TRUE(check(FpOp::FADD_D, kRNE, df(dmax), df(0x1p969), 0, df(dmax), kNX));
  EXPECT_TRUE(check(FpOp::FADD_D, kRUP, df(dmax), df(0x1p969), 0, 0x7ff0000000000000, kOF | kNX));
  // Infinity operands are exact.
  EXPECT_TRUE(check(FpOp::FMUL_D, kRTZ, df(INFINITY), df(2.0), 0, df(INFINITY), 0));
}

TEST(Fpu, UnderflowTininessAfterRounding) {
  // 2^-126 * (1 - 2^-25) = (2^25 - 1) * 2^-151 = (18631 * 2^-14) * (1801 * 2^-137).
  static_assert(18631 * 1801 == (1 << 25) - 1);
  const uint64_t a = sf(std::ldexp(18631.0f, -14));
  const uint64_t b = sf(std::ldexp(1801.0f, -137));  // subnormal, exact
  // With unbounded exponent and 24 bits it is a tie between 1 - 2^-24 and 1;
  // RNE/RMM/RUP round to 2^-126: not tiny after rounding, so no underflow
  // although the value is below 2^-126. RTZ/RDN stay tiny and underflow.
  for (unsigned rm : {kRNE, kRMM, kRUP})
    EXPECT_TRUE(check(FpOp::FMUL_S, rm, a, b, 0, sb(0x00800000), kNX));
  for (unsigned rm : {kRTZ, kRDN})
    EXPECT_TRUE(check(FpOp::FMUL_S, rm, a, b, 0, sb(0x007fffff), kNX | kUF));

  // (1 - 2^-24) * 2^-126 is tiny after rounding (exact in 24 bits), and the
  // result rounds (to even) to 2^-126: result min normal, yet UF is set.
  EXPECT_TRUE(
      check(FpOp::FMUL_S, kRNE, sb(0x3f7fffff), sf(0x1p-126f), 0, sb(0x00800000), kNX | kUF));
  EXPECT_TRUE(
      check(FpOp::FMUL_S, kRTZ, sb(0x3f7fffff), sf(0x1p-126f), 0, sb(0x007fffff), kNX | kUF));

  // Double: 2^54 - 1 = (2^27 - 1)(2^27 + 1); product = 2^-1022 * (1 - 2^-54).
  static_assert(134217727ull * 134217729ull == (1ull << 54) - 1);
  const uint64_t da = df(std::ldexp(134217727.0, -540));
  const uint64_t db = df(std::ldexp(134217729.0, -536));
  for (unsigned rm : {kRNE, kRMM, kRUP})
    EXPECT_TRUE(check(FpOp::FMUL_D, rm, da, db, 0, 0x0010000000000000, kNX));
  for (unsigned rm : {kRTZ, kRDN})
    EXPECT_TRUE(check(FpOp::FMUL_D, rm, da, db, 0, 0x000fffffffffffff, kNX | kUF));
  // Negative: RDN now goes away from zero (not tiny), RUP toward zero.
  const uint64_t nda = da | (1ull << 63);
  EXPECT_TRUE(check(FpOp::FMUL_D, kRDN, nda, db, 0, 0x8010000000000000, kNX));
  EXPECT_TRUE(check(FpOp::FMUL_D, kRUP, nda, db, 0, 0x800fffffffffffff, kNX | kUF));

  // Half the smallest subnormal: a tie between 0 and 2^-149.
  check_modes(FpOp::FMUL_S, sb(1), sf(0.5f), 0, {{sb(0), sb(0), sb(0), sb(1), sb(1)}}, kNX | kUF);
  check_modes(FpOp::FMUL_D, 1, df(-0.25), 0,
              {{1ull << 63, 1ull << 63, (1ull << 63) | 1, 1ull << 63, 1ull << 63}}, kNX | kUF);
  // An exact subnormal result is not an underflow.
  check_modes(FpOp::FMUL_S, sf(0x1p-126f), sf(0.5f), 0,
              {{sb(0x00400000), sb(0x00400000), sb(0x00400000), sb(0x00400000), sb(0x00400000)}},
              0);
  check_modes(FpOp::FSUB_D, 0x0010000000000000, 1, 0,
              {{0x000fffffffffffff, 0x000fffffffffffff, 0x000fffffffffffff, 0x000fffffffffffff,
                0x000fffffffffffff}},
              0);
}

TEST(Fpu, SpecialArithmetic) {
  EXPECT_TRUE(check(FpOp::FSUB_D, kRNE, df(INFINITY), df(INFINITY), 0, kQNaN64, kNV));
  EXPECT_TRUE(check(FpOp::FADD_S, kRNE, sf(-INFINITY), sf(INFINITY), 0, kQNaN32, kNV));
  EXPECT_TRUE(check(FpOp::FMUL_D, kRNE, df(0.0), df(-INFINITY), 0, kQNaN64, kNV));
  EXPECT_TRUE(check(FpOp::FDIV_D, kRNE, df(0.0), df(0.0), 0, kQNaN64, kNV));
  EXPECT_TRUE(check(FpOp::FDIV_S, kRNE, sf(INFINITY), sf(-INFINITY), 0, kQNaN32, kNV));
  EXPECT_TRUE(check(FpOp::FDIV_D, kRNE, df(1.0), df(0.0), 0, df(INFINITY), kDZ));
  EXPECT_TRUE(check(FpOp::FDIV_D, kRTZ, df(-1.0), df(0.0), 0, df(-INFINITY), kDZ));
  EXPECT_TRUE(check(FpOp::FDIV_S, kRNE, sf(1.0f), sf(-0.0f), 0, sf(-INFINITY), kDZ));
  EXPECT_TRUE(check(FpOp::FDIV_D, kRNE, df(INFINITY), df(0.0), 0, df(INFINITY), 0));
  EXPECT_TRUE(check(FpOp::FDIV_D, kRNE, df(2.0), df(-INFINITY), 0, df(-0.0), 0));
  EXPECT_TRUE(check(FpOp::FSQRT_D, kRNE, df(-1.0), 0, 0, kQNaN64, kNV));
  EXPECT_TRUE(check(FpOp::FSQRT_S, kRNE, sf(-INFINITY), 0, 0, kQNaN32, kNV));
  EXPECT_TRUE(check(FpOp::FSQRT_D, kRDN, df(-0.0), 0, 0, df(-0.0), 0));
  EXPECT_TRUE(check(FpOp::FSQRT_D, kRNE, df(INFINITY), 0, 0, df(INFINITY), 0));
  // NaN operands: canonical result, payload dropped; NV only for sNaN.
  const uint64_t dq = 0xfff8000000001234;  // negative qNaN with payload
  const uint64_t ds = 0x7ff0000000000001;  // sNaN
  EXPECT_TRUE(check(FpOp::FADD_D, kRNE, dq, df(1.0), 0, kQNaN64, 0));
  EXPECT_TRUE(check(FpOp::FADD_D, kRNE, df(1.0), ds, 0, kQNaN64, kNV));
  EXPECT_TRUE(check(FpOp::FMUL_S, kRUP, sb(0xffc01234), sf(1.0f), 0, kQNaN32, 0));
  EXPECT_TRUE(check(FpOp::FMUL_S, kRUP, sb(0x7f800001), sf(1.0f), 0, kQNaN32, kNV));
  EXPECT_TRUE(check(FpOp::FSQRT_D, kRNE, ds, 0, 0, kQNaN64, kNV));
  EXPECT_TRUE(check(FpOp::FSQRT_S, kRNE, sb(0x7fc00001), 0, 0, kQNaN32, 0));
  // Signed zeros of sums.
  check_modes(FpOp::FADD_D, df(1.0), df(-1.0), 0, {{df(0.0), df(0.0), df(-0.0), df(0.0), df(0.0)}},
              0);
  check_modes(FpOp::FADD_S, sf(-0.0f), sf(0.0f), 0,
              {{sf(0.0f), sf(0.0f), sf(-0.0f), sf(0.0f), sf(0.0f)}}, 0);
  check_modes(FpOp::FSUB_S, sf(-0.0f), sf(0.0f), 0,
              {{sf(-0.0f), sf(-0.0f), sf(-0.0f), sf(-0.0f), sf(-0.0f)}}, 0);
}

TEST(Fpu, SqrtModes) {
  // sqrt(2) = 1.41421356237309504880...
  // double: ...3bcc < sqrt(2) < ...3bcd, nearer to ...3bcd.
  check_modes(FpOp::FSQRT_D, df(2.0), 0, 0,
              {{0x3ff6a09e667f3bcd, 0x3ff6a09e667f3bcc, 0x3ff6a09e667f3bcc, 0x3ff6a09e667f3bcd,
                0x3ff6a09e667f3bcd}},
              kNX);
  // single: 0x3fb504f3 = 1.41421353816986 < sqrt(2) < 0x3fb504f4, nearer the first.
  check_modes(FpOp::FSQRT_S, sf(2.0f), 0, 0,
              {{sb(0x3fb504f3), sb(0x3fb504f3), sb(0x3fb504f3), sb(0x3fb504f4), sb(0x3fb504f3)}},
              kNX);
  // Subnormal input: sqrt(2^-1074) = 2^-537 exactly.
  EXPECT_TRUE(check(FpOp::FSQRT_D, kRNE, 1, 0, 0, df(0x1p-537), 0));
}

// ---- fused multiply-add ---------------------------------------------------

TEST(Fpu, FmaIsFused) {
  // (1 + 2^-12)^2 - (1 + 2^-11) = 2^-24 exactly; unfused would give 0.
  check_modes(FpOp::FMSUB_S, sb(0x3f800800), sb(0x3f800800), sb(0x3f801000),
              {{sf(0x1p-24f), sf(0x1p-24f), sf(0x1p-24f), sf(0x1p-24f), sf(0x1p-24f)}}, 0);
  // (1 + 2^-27)^2 - (1 + 2^-26) = 2^-54.
  check_modes(FpOp::FMSUB_D, 0x3ff0000002000000, 0x3ff0000002000000, 0x3ff0000004000000,
              {{df(0x1p-54), df(0x1p-54), df(0x1p-54), df(0x1p-54), df(0x1p-54)}}, 0);
  // fnmadd = -(a*b) - c, fnmsub = -(a*b) + c.
  EXPECT_TRUE(check(FpOp::FNMADD_D, kRNE, df(2.0), df(3.0), df(1.0), df(-7.0), 0));
  EXPECT_TRUE(check(FpOp::FNMSUB_D, kRNE, df(2.0), df(3.0), df(1.0), df(-5.0), 0));
  EXPECT_TRUE(check(FpOp::FMSUB_S, kRNE, sf(2.0f), sf(3.0f), sf(1.0f), sf(5.0f), 0));
  EXPECT_TRUE(check(FpOp::FMADD_S, kRNE, sf(2.0f), sf(3.0f), sf(1.0f), sf(7.0f), 0));
  // (1 + 2^-52)^2 + 0 = 1 + 2^-51 + 2^-104: RUP bumps, RNE does not.
  EXPECT_TRUE(check(FpOp::FMADD_D, kRUP, 0x3ff0000000000001, 0x3ff0000000000001, df(0.0),
                    0x3ff0000000000003, kNX));
  EXPECT_TRUE(check(FpOp::FMADD_D, kRNE, 0x3ff0000000000001, 0x3ff0000000000001, df(0.0),
                    0x3ff0000000000002, kNX));
  // (1 + 2^-52)^2 - 2^-104 is exactly 1 + 2^-51.
  EXPECT_TRUE(check(FpOp::FMADD_D, kRNE, 0x3ff0000000000001, 0x3ff0000000000001, df(-0x1p-104),
                    0x3ff0000000000002, 0));
}

TEST(Fpu, FmaZeroSigns) {
  // Exact zero from opposite-signed terms: +0, but -0 in RDN.
  check_modes(FpOp::FMADD_D, df(1.0), df(1.0), df(-1.0),
              {{df(0.0), df(0.0), df(-0.0), df(0.0), df(0.0)}}, 0);
  check_modes(FpOp::FMADD_S, sf(2.0f), sf(3.0f), sf(-6.0f),
              {{sf(0.0f), sf(0.0f), sf(-0.0f), sf(0.0f), sf(0.0f)}}, 0);
  // Product +0 plus -0.
  check_modes(FpOp::FMADD_D, df(1.0), df(0.0), df(-0.0),
              {{df(0.0), df(0.0), df(-0.0), df(0.0), df(0.0)}}, 0);
  // fmsub(0, 1, 0) = +0 - +0.
  check_modes(FpOp::FMSUB_S, sf(0.0f), sf(1.0f), sf(0.0f),
              {{sf(0.0f), sf(0.0f), sf(-0.0f), sf(0.0f), sf(0.0f)}}, 0);
  // fnmadd(1, 0, 0) = -(+0) - (+0) = -0 in every mode.
  check_modes(FpOp::FNMADD_D, df(1.0), df(0.0), df(0.0),
              {{df(-0.0), df(-0.0), df(-0.0), df(-0.0), df(-0.0)}}, 0);
  // Same-signed zeros keep their sign.
  check_modes(FpOp::FMADD_D, df(-1.0), df(0.0), df(-0.0),
              {{df(-0.0), df(-0.0), df(-0.0), df(-0.0), df(-0.0)}}, 0);
  // A nonzero product that underflows to zero keeps the product's sign, even
  // with a zero addend of the other sign.
  EXPECT_TRUE(
      check(FpOp::FMADD_D, kRNE, df(-0x1p-600), df(0x1p-600), df(0.0), df(-0.0), kNX | kUF));
  EXPECT_TRUE(check(FpOp::FMADD_D, kRUP, df(0x1p-600), df(0x1p-600), df(-0.0), 1, kNX | kUF));
}

TEST(Fpu, FmaInvalid) {
  // inf * 0 + qNaN is invalid on RISC-V.
  EXPECT_TRUE(check(FpOp::FMADD_D, kRNE, df(INFINITY), df(0.0), kQNaN64, kQNaN64, kNV));
  EXPECT_TRUE(check(FpOp::FMADD_S, kRNE, sf(0.0f), sf(-INFINITY), kQNaN32, kQNaN32, kNV));
  EXPECT_TRUE(check(FpOp::FMADD_D, kRNE, df(INFINITY), df(0.0), df(1.0), kQNaN64, kNV));
  EXPECT_TRUE(check(FpOp::FMADD_D, kRNE, df(INFINITY), df(1.0), df(-INFINITY), kQNaN64, kNV));
  EXPECT_TRUE(check(FpOp::FMSUB_D, kRNE, df(INFINITY), df(1.0), df(INFINITY), kQNaN64, kNV));
  EXPECT_TRUE(check(FpOp::FMADD_D, kRNE, df(INFINITY), df(1.0), df(INFINITY), df(INFINITY), 0));
  EXPECT_TRUE(check(FpOp::FMADD_D, kRNE, df(1.0), df(1.0), kQNaN64, kQNaN64, 0));
  EXPECT_TRUE(check(FpOp::FMADD_D, kRNE, df(1.0), df(1.0), 0x7ff4000000000000, kQNaN64, kNV));
  EXPECT_TRUE(check(FpOp::FMADD_D, kRNE, df(0.0), df(2.0), df(-INFINITY), df(-INFINITY), 0));
}

// ---- sign injection, min/max, compares, class --------------------------------

TEST(Fpu, SignInjection) {
  EXPECT_TRUE(check(FpOp::FSGNJ_D, kRNE, df(1.0), df(-2.0), 0, df(-1.0), 0));
  EXPECT_TRUE(check(FpOp::FSGNJN_D, kRNE, df(1.0), df(-2.0), 0, df(1.0), 0));
  EXPECT_TRUE(check(FpOp::FSGNJX_D, kRNE, df(-1.0), df(-2.0), 0, df(1.0), 0));
  EXPECT_TRUE(check(FpOp::FSGNJ_S, kRNE, sf(-0.0f), sf(0.0f), 0, sf(0.0f), 0));
  EXPECT_TRUE(check(FpOp::FSGNJN_S, kRNE, sf(3.0f), sf(3.0f), 0, sf(-3.0f), 0));
  EXPECT_TRUE(check(FpOp::FSGNJX_S, kRNE, sf(-3.0f), sf(3.0f), 0, sf(-3.0f), 0));
  // NaN payloads pass through untouched, no flags (not arithmetic).
  EXPECT_TRUE(check(FpOp::FSGNJ_D, kRNE, 0x7ff0000000000001, df(-1.0), 0, 0xfff0000000000001, 0));
  // Sign injection ignores rm, even reserved values.
  EXPECT_TRUE(check(FpOp::FSGNJN_D, 5, df(1.0), df(1.0), 0, df(-1.0), 0));
}

TEST(Fpu, MinMax) {
  EXPECT_TRUE(check(FpOp::FMIN_D, kRNE, df(-0.0), df(0.0), 0, df(-0.0), 0));
  EXPECT_TRUE(check(FpOp::FMIN_D, kRNE, df(0.0), df(-0.0), 0, df(-0.0), 0));
  EXPECT_TRUE(check(FpOp::FMAX_D, kRNE, df(-0.0), df(0.0), 0, df(0.0), 0));
  EXPECT_TRUE(check(FpOp::FMAX_S, kRNE, sf(0.0f), sf(-0.0f), 0, sf(0.0f), 0));
  EXPECT_TRUE(check(FpOp::FMIN_S, kRNE, sf(0.0f), sf(-0.0f), 0, sf(-0.0f), 0));
  EXPECT_TRUE(check(FpOp::FMIN_D, kRNE, df(-3.0), df(2.0), 0, df(-3.0), 0));
  EXPECT_TRUE(check(FpOp::FMAX_D, kRNE, df(-3.0), df(-2.0), 0, df(-2.0), 0));
  EXPECT_TRUE(check(FpOp::FMAX_S, kRNE, sf(-INFINITY), sf(1.0f), 0, sf(1.0f), 0));
  // One NaN: the other operand; NV only if a NaN is signaling.
  EXPECT_TRUE(check(FpOp::FMIN_D, kRNE, kQNaN64, df(1.0), 0, df(1.0), 0));
  EXPECT_TRUE(check(FpOp::FMAX_D, kRNE, df(1.0), 0xfff8000000000001, 0, df(1.0), 0));
  EXPECT_TRUE(check(FpOp::FMIN_D, kRNE, 0x7ff0000000000001, df(1.0), 0, df(1.0), kNV));
  EXPECT_TRUE(check(FpOp::FMAX_S, kRNE, sf(-2.0f), sb(0x7f800001), 0, sf(-2.0f), kNV));
  // Both NaN: canonical NaN.
  EXPECT_TRUE(check(FpOp::FMIN_D, kRNE, 0x7ff8000000000123, 0xfff8000000000001, 0, kQNaN64, 0));
  EXPECT_TRUE(check(FpOp::FMAX_S, kRNE, sb(0x7f800001), sb(0x7fc00001), 0, kQNaN32, kNV));
  // Ignores rm.
  EXPECT_TRUE(check(FpOp::FMIN_S, 6, sf(1.0f), sf(2.0f), 0, sf(1.0f), 0));
}

TEST(Fpu, Compares) {
  const uint64_t q = kQNaN64;
  const uint64_t s = 0x7ff0000000000001;
  EXPECT_TRUE(check(FpOp::FEQ_D, kRNE, df(1.0), df(1.0), 0, 1, 0));
  EXPECT_TRUE(check(FpOp::FEQ_D, kRNE, df(-0.0), df(0.0), 0, 1, 0));
  EXPECT_TRUE(check(FpOp::FLT_D, kRNE, df(-0.0), df(0.0), 0, 0, 0));
  EXPECT_TRUE(check(FpOp::FLE_D, kRNE, df(-0.0), df(0.0), 0, 1, 0));
  EXPECT_TRUE(check(FpOp::FLE_D, kRNE, df(0.0), df(-0.0), 0, 1, 0));
  EXPECT_TRUE(check(FpOp::FLT_D, kRNE, df(-2.0), df(-1.0), 0, 1, 0));
  EXPECT_TRUE(check(FpOp::FLT_D, kRNE, df(-1.0), df(-2.0), 0, 0, 0));
  EXPECT_TRUE(check(FpOp::FLE_D, kRNE, df(-INFINITY), df(INFINITY), 0, 1, 0));
  EXPECT_TRUE(check(FpOp::FLT_S, kRNE, sf(1.0f), sf(2.0f), 0, 1, 0));
  EXPECT_TRUE(check(FpOp::FLE_S, kRNE, sf(2.0f), sf(2.0f), 0, 1, 0));
  EXPECT_TRUE(check(FpOp::FEQ_S, kRNE, sf(2.0f), sf(3.0f), 0, 0, 0));
  // FEQ is quiet: NV only for sNaN. FLT/FLE are signaling: NV for any NaN.
  EXPECT_TRUE(check(FpOp::FEQ_D, kRNE, q, df(1.0), 0, 0, 0));
  EXPECT_TRUE(check(FpOp::FEQ_D, kRNE, q, q, 0, 0, 0));
  EXPECT_TRUE(check(FpOp::FEQ_D, kRNE, df(1.0), s, 0, 0, kNV));
  EXPECT_TRUE(check(FpOp::FLT_D, kRNE, q, df(1.0), 0, 0, kNV));
  EXPECT_TRUE(check(FpOp::FLE_D, kRNE, df(1.0), q, 0, 0, kNV));
  EXPECT_TRUE(check(FpOp::FLT_D, kRNE, s, df(1.0), 0, 0, kNV));
  EXPECT_TRUE(check(FpOp::FEQ_S, kRNE, kQNaN32, sf(1.0f), 0, 0, 0));
  EXPECT_TRUE(check(FpOp::FEQ_S, kRNE, sb(0x7f800001), sf(1.0f), 0, 0, kNV));
  EXPECT_TRUE(check(FpOp::FLE_S, kRNE, kQNaN32, sf(1.0f), 0, 0, kNV));
  // Compares ignore rm.
  EXPECT_TRUE(check(FpOp::FEQ_D, 5, df(1.0), df(1.0), 0, 1, 0));
  const Out o = run(FpOp::FLT_D, kDYN, df(1.0), df(2.0), 0, false, /*frm=*/7);
  EXPECT_TRUE(o.ok);
  EXPECT_EQ(o.x, 1u);
}

TEST(Fpu, Classify) {
  struct Case {
    uint64_t d;
    uint32_t s;
    uint64_t mask;
  };
  const Case cases[] = {
      {0xfff0000000000000, 0xff800000, 1u << 0},  // -inf
      {df(-1.5), 0xbfc00000, 1u << 1},            // -normal
      {0x800fffffffffffff, 0x807fffff, 1u << 2},  // -subnormal
      {0x8000000000000000, 0x80000000, 1u << 3},  // -0
      {0x0000000000000000, 0x00000000, 1u << 4},  // +0
      {0x0000000000000001, 0x00000001, 1u << 5},  // +subnormal
      {0x0010000000000000, 0x00800000, 1u << 6},  // +normal (min)
      {0x7ff0000000000000, 0x7f800000, 1u << 7},  // +inf
      {0x7ff0000000000001, 0x7f800001, 1u << 8},  // sNaN
      {0xfff4000000000000, 0xffa00000, 1u << 8},  // sNaN, negative
      {0x7ff8000000000000, 0x7fc00000, 1u << 9},  // qNaN
      {0xffffffffffffffff, 0xffffffff, 1u << 9},  // qNaN, negative
  };
  for (const Case& c : cases) {
    EXPECT_TRUE(check(FpOp::FCLASS_D, kRNE, c.d, 0, 0, c.mask, 0));
    EXPECT_TRUE(check(FpOp::FCLASS_S, 5, sb(c.s), 0, 0, c.mask, 0));
  }
}

// ---- NaN boxing and moves -------------------------------------------------

TEST(Fpu, NanBoxing) {
  const uint64_t unboxed_one = 0x000000003f800000;  // 1.0f without the box
  EXPECT_TRUE(check(FpOp::FADD_S, kRNE, unboxed_one, sf(1.0f), 0, kQNaN32, 0));
  EXPECT_TRUE(check(FpOp::FADD_S, kRNE, sf(1.0f), 0x7fffffff3f800000, 0, kQNaN32, 0));
  EXPECT_TRUE(check(FpOp::FCLASS_S, kRNE, unboxed_one, 0, 0, 1u << 9, 0));
  EXPECT_TRUE(check(FpOp::FSGNJN_S, kRNE, unboxed_one, sf(1.0f), 0, sb(0xffc00000), 0));
  EXPECT_TRUE(check(FpOp::FSGNJ_S, kRNE, sf(2.0f), unboxed_one, 0, sf(2.0f), 0));  // NaN sign +
  EXPECT_TRUE(check(FpOp::FMIN_S, kRNE, unboxed_one, sf(5.0f), 0, sf(5.0f), 0));
  EXPECT_TRUE(check(FpOp::FLT_S, kRNE, unboxed_one, sf(5.0f), 0, 0, kNV));
  EXPECT_TRUE(check(FpOp::FEQ_S, kRNE, unboxed_one, sf(5.0f), 0, 0, 0));
  EXPECT_TRUE(check(FpOp::FCVT_D_S, kRNE, unboxed_one, 0, 0, kQNaN64, 0));
  EXPECT_TRUE(check(FpOp::FCVT_W_S, kRNE, unboxed_one, 0, 0, 0x7fffffff, kNV));
  EXPECT_TRUE(check(FpOp::FMADD_S, kRNE, sf(1.0f), sf(1.0f), unboxed_one, kQNaN32, 0));
  // fmv.x.w moves the raw low 32 bits, sign-extended, boxed or not.
  EXPECT_TRUE(check(FpOp::FMV_X_W, kRNE, unboxed_one, 0, 0, 0x3f800000, 0));
  EXPECT_TRUE(check(FpOp::FMV_X_W, kRNE, 0x12345678bf800000, 0, 0, 0xffffffffbf800000, 0));
  EXPECT_TRUE(check(FpOp::FMV_X_W, 6, sb(0x80000000), 0, 0, 0xffffffff80000000, 0));
  // fmv.w.x boxes; fmv.d.x / fmv.x.d move 64 raw bits.
  EXPECT_TRUE(check(FpOp::FMV_W_X, kRNE, 0x12345678bf800000, 0, 0, sb(0xbf800000), 0));
  EXPECT_TRUE(check(FpOp::FMV_D_X, kRNE, 0x7ff0000000000001, 0, 0, 0x7ff0000000000001, 0));
  EXPECT_TRUE(check(FpOp::FMV_X_D, 5, 0xfff0000000000001, 0, 0, 0xfff0000000000001, 0));
  // Results are boxed.
  EXPECT_TRUE(check(FpOp::FSQRT_S, kRNE, sf(4.0f), 0, 0, kBox | 0x40000000, 0));
}

// ---- conversions ----------------------------------------------------------

constexpr uint64_t kI32Max = 0x7fffffff;
constexpr uint64_t kI32Min = 0xffffffff80000000;  // sign-extended
constexpr uint64_t kAllOnes = ~0ull;

TEST(Fpu, CvtWD) {
  // 2.5 and -2.5 in each mode.
  check_modes(FpOp::FCVT_W_D, df(2.5), 0, 0, {{2, 2, 2, 3, 3}}, kNX);
  check_modes(FpOp::FCVT_W_D, df(-2.5), 0, 0,
              {{kAllOnes - 1, kAllOnes - 1, kAllOnes - 2, kAllOnes - 1, kAllOnes - 2}}, kNX);
  check_modes(FpOp::FCVT_W_D, df(2147483647.0), 0, 0,
              {{kI32Max, kI32Max, kI32Max, kI32Max, kI32Max}}, 0);
  check_modes(FpOp::FCVT_W_D, df(2147483648.0), 0, 0,
              {{kI32Max, kI32Max, kI32Max, kI32Max, kI32Max}}, kNV);
  // 2^31 - 0.5: RNE/RUP/RMM round to 2^31 (out of range: invalid, not inexact).
  for (unsigned rm : {kRNE, kRUP, kRMM})
    EXPECT_TRUE(check(FpOp::FCVT_W_D, rm, df(2147483647.5), 0, 0, kI32Max, kNV));
  for (unsigned rm : {kRTZ, kRDN})
    EXPECT_TRUE(check(FpOp::FCVT_W_D, rm, df(2147483647.5), 0, 0, kI32Max, kNX));
  check_modes(FpOp::FCVT_W_D, df(-2147483648.0), 0, 0,
              {{kI32Min, kI32Min, kI32Min, kI32Min, kI32Min}}, 0);
  check_modes(FpOp::FCVT_W_D, df(-2147483649.0), 0, 0,
              {{kI32Min, kI32Min, kI32Min, kI32Min, kI32Min}}, kNV);
  // -2^31 - 0.5: a tie; RNE picks the even -2^31, RMM/RDN go out of range.
  for (unsigned rm : {kRNE, kRTZ, kRUP})
    EXPECT_TRUE(check(FpOp::FCVT_W_D, rm, df(-2147483648.5), 0, 0, kI32Min, kNX));
  for (unsigned rm : {kRDN, kRMM})
    EXPECT_TRUE(check(FpOp::FCVT_W_D, rm, df(-2147483648.5), 0, 0, kI32Min, kNV));
  EXPECT_TRUE(check(FpOp::FCVT_W_D, kRNE, kQNaN64, 0, 0, kI32Max, kNV));
  EXPECT_TRUE(check(FpOp::FCVT_W_D, kRNE, 0xfff8000000000000, 0, 0, kI32Max, kNV));  // -NaN
  EXPECT_TRUE(check(FpOp::FCVT_W_D, kRNE, df(INFINITY), 0, 0, kI32Max, kNV));
  EXPECT_TRUE(check(FpOp::FCVT_W_D, kRNE, df(-INFINITY), 0, 0, kI32Min, kNV));
  EXPECT_TRUE(check(FpOp::FCVT_W_D, kRNE, df(-0.0), 0, 0, 0, 0));
  EXPECT_TRUE(check(FpOp::FCVT_W_D, kRNE, 1, 0, 0, 0, kNX));  // smallest subnormal
  EXPECT_TRUE(check(FpOp::FCVT_W_D, kRUP, 1, 0, 0, 1, kNX));
  EXPECT_TRUE(check(FpOp::FCVT_W_D, kRDN, 0x8000000000000001, 0, 0, kAllOnes, kNX));
  EXPECT_TRUE(check(FpOp::FCVT_W_D, kRNE, df(1e300), 0, 0, kI32Max, kNV));
}

TEST(Fpu, CvtWuD) {
  // -0.9: rounds to 0 only in RTZ and RUP (inexact); elsewhere to -1: invalid.
  for (unsigned rm : {kRTZ, kRUP}) EXPECT_TRUE(check(FpOp::FCVT_WU_D, rm, df(-0.9), 0, 0, 0, kNX));
  for (unsigned rm : {kRNE, kRDN, kRMM})
    EXPECT_TRUE(check(FpOp::FCVT_WU_D, rm, df(-0.9), 0, 0, 0, kNV));
  // -0.5: RNE ties to even 0 (inexact); RMM to -1 (invalid).
  EXPECT_TRUE(check(FpOp::FCVT_WU_D, kRNE, df(-0.5), 0, 0, 0, kNX));
  EXPECT_TRUE(check(FpOp::FCVT_WU_D, kRMM, df(-0.5), 0, 0, 0, kNV));
  EXPECT_TRUE(check(FpOp::FCVT_WU_D, kRNE, df(-1.0), 0, 0, 0, kNV));
  EXPECT_TRUE(check(FpOp::FCVT_WU_D, kRNE, df(-0.0), 0, 0, 0, 0));
  // 2^32 - 0.5: RNE (tie -> even 2^32), RUP, RMM overflow; RTZ/RDN give
  // 0xffffffff (sign-extended) inexact.
  for (unsigned rm : {kRNE, kRUP, kRMM})
    EXPECT_TRUE(check(FpOp::FCVT_WU_D, rm, df(4294967295.5), 0, 0, kAllOnes, kNV));
  for (unsigned rm : {kRTZ, kRDN})
    EXPECT_TRUE(check(FpOp::FCVT_WU_D, rm, df(4294967295.5), 0, 0, kAllOnes, kNX));
  EXPECT_TRUE(check(FpOp::FCVT_WU_D, kRNE, df(4294967295.0), 0, 0, kAllOnes, 0));
  EXPECT_TRUE(check(FpOp::FCVT_WU_D, kRNE, df(4294967296.0), 0, 0, kAllOnes, kNV));
  // 2^31 fits in wu; the 32-bit result is sign-extended into x[rd].
  EXPECT_TRUE(check(FpOp::FCVT_WU_D, kRNE, df(2147483648.0), 0, 0, 0xffffffff80000000, 0));
  EXPECT_TRUE(check(FpOp::FCVT_WU_D, kRNE, df(2147483647.0), 0, 0, 0x7fffffff, 0));
  EXPECT_TRUE(check(FpOp::FCVT_WU_D, kRNE, kQNaN64, 0, 0, kAllOnes, kNV));
  EXPECT_TRUE(check(FpOp::FCVT_WU_D, kRNE, df(INFINITY), 0, 0, kAllOnes, kNV));
  EXPECT_TRUE(check(FpOp::FCVT_WU_D, kRNE, df(-INFINITY), 0, 0, 0, kNV));
}

TEST(Fpu, CvtLD) {
  constexpr uint64_t kI64Max = 0x7fffffffffffffff;
  constexpr uint64_t kI64Min = 0x8000000000000000;
  EXPECT_TRUE(check(FpOp::FCVT_L_D, kRNE, df(0x1p63), 0, 0, kI64Max, kNV));
  EXPECT_TRUE(check(FpOp::FCVT_L_D, kRNE, 0x43dfffffffffffff, 0, 0, 0x7ffffffffffffc00, 0));
  EXPECT_TRUE(check(FpOp::FCVT_L_D, kRNE, df(-0x1p63), 0, 0, kI64Min, 0));
  EXPECT_TRUE(check(FpOp::FCVT_L_D, kRNE, 0xc3e0000000000001, 0, 0, kI64Min, kNV));  // -2^63-2048
  EXPECT_TRUE(check(FpOp::FCVT_L_D, kRNE, kQNaN64, 0, 0, kI64Max, kNV));
  EXPECT_TRUE(check(FpOp::FCVT_L_D, kRNE, df(-INFINITY), 0, 0, kI64Min, kNV));
  check_modes(FpOp::FCVT_L_D, df(-7.5), 0, 0,
              {{kAllOnes - 7, kAllOnes - 6, kAllOnes - 7, kAllOnes - 6, kAllOnes - 7}}, kNX);
  check_modes(FpOp::FCVT_L_D, df(6.5), 0, 0, {{6, 6, 6, 7, 7}}, kNX);
  check_modes(FpOp::FCVT_L_D, df(0.25), 0, 0, {{0, 0, 0, 1, 0}}, kNX);
  check_modes(FpOp::FCVT_L_D, df(0.75), 0, 0, {{1, 0, 0, 1, 1}}, kNX);
  // lu
  EXPECT_TRUE(check(FpOp::FCVT_LU_D, kRNE, df(0x1p64), 0, 0, kAllOnes, kNV));
  EXPECT_TRUE(check(FpOp::FCVT_LU_D, kRNE, 0x43efffffffffffff, 0, 0, 0xfffffffffffff800, 0));
  EXPECT_TRUE(check(FpOp::FCVT_LU_D, kRNE, df(0x1p63), 0, 0, 0x8000000000000000, 0));
  EXPECT_TRUE(check(FpOp::FCVT_LU_D, kRNE, df(-1.0), 0, 0, 0, kNV));
  EXPECT_TRUE(check(FpOp::FCVT_LU_D, kRTZ, df(-0.9), 0, 0, 0, kNX));
  EXPECT_TRUE(check(FpOp::FCVT_LU_D, kRNE, kQNaN64, 0, 0, kAllOnes, kNV));
  EXPECT_TRUE(check(FpOp::FCVT_LU_D, kRNE, df(INFINITY), 0, 0, kAllOnes, kNV));
}

TEST(Fpu, CvtFromSingle) {
  EXPECT_TRUE(check(FpOp::FCVT_W_S, kRNE, sf(2147483648.0f), 0, 0, kI32Max, kNV));
  EXPECT_TRUE(check(FpOp::FCVT_W_S, kRNE, sf(-2147483648.0f), 0, 0, kI32Min, 0));
  EXPECT_TRUE(check(FpOp::FCVT_W_S, kRNE, sb(0xcf000001), 0, 0, kI32Min, kNV));  // below -2^31
  EXPECT_TRUE(check(FpOp::FCVT_W_S, kRNE, sf(2147483520.0f), 0, 0, 2147483520, 0));
  check_modes(FpOp::FCVT_W_S, sf(-1.5f), 0, 0,
              {{kAllOnes - 1, kAllOnes, kAllOnes - 1, kAllOnes, kAllOnes - 1}}, kNX);
  EXPECT_TRUE(check(FpOp::FCVT_WU_S, kRNE, sf(4294967040.0f), 0, 0, 0xffffffffffffff00, 0));
  EXPECT_TRUE(check(FpOp::FCVT_WU_S, kRNE, sf(4294967296.0f), 0, 0, kAllOnes, kNV));
  EXPECT_TRUE(check(FpOp::FCVT_WU_S, kRUP, sf(-0.25f), 0, 0, 0, kNX));
  EXPECT_TRUE(check(FpOp::FCVT_WU_S, kRDN, sf(-0.25f), 0, 0, 0, kNV));
  EXPECT_TRUE(check(FpOp::FCVT_L_S, kRNE, sf(0x1p63f), 0, 0, 0x7fffffffffffffff, kNV));
  EXPECT_TRUE(check(FpOp::FCVT_L_S, kRNE, sf(-0x1p63f), 0, 0, 0x8000000000000000, 0));
  EXPECT_TRUE(check(FpOp::FCVT_LU_S, kRNE, sf(0x1p63f), 0, 0, 0x8000000000000000, 0));
  EXPECT_TRUE(check(FpOp::FCVT_LU_S, kRNE, sf(0x1p64f), 0, 0, kAllOnes, kNV));
  EXPECT_TRUE(check(FpOp::FCVT_LU_S, kRNE, sb(0x7f800001), 0, 0, kAllOnes, kNV));
}

TEST(Fpu, CvtFromInt) {
  // 2^24 + 1 is a tie for single precision.
  check_modes(FpOp::FCVT_S_W, 16777217, 0, 0,
              {{sb(0x4b800000), sb(0x4b800000), sb(0x4b800000), sb(0x4b800001), sb(0x4b800001)}},
              kNX);
  check_modes(FpOp::FCVT_S_W, static_cast<uint64_t>(-16777217), 0, 0,
              {{sb(0xcb800000), sb(0xcb800000), sb(0xcb800001), sb(0xcb800000), sb(0xcb800001)}},
              kNX);
  // fcvt.s.w uses only the low 32 bits of x[rs1].
  EXPECT_TRUE(check(FpOp::FCVT_S_W, kRNE, 0x12345678ffffffff, 0, 0, sf(-1.0f), 0));
  EXPECT_TRUE(check(FpOp::FCVT_S_W, kRNE, 0x80000000, 0, 0, sf(-2147483648.0f), 0));
  // 0xffffffff as unsigned: 2^32 - 1 needs 32 bits.
  check_modes(FpOp::FCVT_S_WU, 0xffffffffffffffff, 0, 0,
              {{sb(0x4f800000), sb(0x4f7fffff), sb(0x4f7fffff), sb(0x4f800000), sb(0x4f800000)}},
              kNX);
  EXPECT_TRUE(check(FpOp::FCVT_S_WU, kRNE, 0, 0, 0, sf(0.0f), 0));
  // 2^53 + 1 is a tie for double precision.
  check_modes(FpOp::FCVT_D_L, (1ull << 53) + 1, 0, 0,
              {{0x4340000000000000, 0x4340000000000000, 0x4340000000000000, 0x4340000000000001,
                0x4340000000000001}},
              kNX);
  check_modes(FpOp::FCVT_D_L, 0x8000000000000000, 0, 0,
              {{df(-0x1p63), df(-0x1p63), df(-0x1p63), df(-0x1p63), df(-0x1p63)}}, 0);
  check_modes(FpOp::FCVT_D_L, static_cast<uint64_t>(-((1ll << 53) + 3)), 0, 0,
              {{0xc340000000000002, 0xc340000000000001, 0xc340000000000002, 0xc340000000000001,
                0xc340000000000002}},
              kNX);
  check_modes(FpOp::FCVT_D_LU, kAllOnes, 0, 0,
              {{df(0x1p64), 0x43efffffffffffff, 0x43efffffffffffff, df(0x1p64), df(0x1p64)}}, kNX);
  check_modes(FpOp::FCVT_S_L, 0x7fffffffffffffff, 0, 0,
              {{sf(0x1p63f), sb(0x5effffff), sb(0x5effffff), sf(0x1p63f), sf(0x1p63f)}}, kNX);
  check_modes(FpOp::FCVT_S_LU, 0x8000008000000000, 0, 0,  // 2^63 + 2^39: tie
              {{sf(0x1p63f), sf(0x1p63f), sf(0x1p63f), sb(0x5f000001), sb(0x5f000001)}}, kNX);
  EXPECT_TRUE(check(FpOp::FCVT_D_W, kRNE, 0xffffffff80000000, 0, 0, df(-2147483648.0), 0));
  EXPECT_TRUE(check(FpOp::FCVT_D_WU, kRNE, 0xffffffff80000000, 0, 0, df(2147483648.0), 0));
  EXPECT_TRUE(check(FpOp::FCVT_D_LU, kRNE, 0, 0, 0, df(0.0), 0));
}

TEST(Fpu, CvtFloatFloat) {
  check_modes(FpOp::FCVT_S_D, df(1.0 / 3.0), 0, 0,
              {{sb(0x3eaaaaab), sb(0x3eaaaaaa), sb(0x3eaaaaaa), sb(0x3eaaaaab), sb(0x3eaaaaab)}},
              kNX);
  // 1 + 2^-24: a tie for single.
  check_modes(FpOp::FCVT_S_D, df(1.0 + 0x1p-24), 0, 0,
              {{sf(1.0f), sf(1.0f), sf(1.0f), sb(0x3f800001), sb(0x3f800001)}}, kNX);
  check_modes(FpOp::FCVT_S_D, df(-1e300), 0, 0,
              {{sb(0xff800000), sb(0xff7fffff), sb(0xff800000), sb(0xff7fffff), sb(0xff800000)}},
              kOF | kNX);
  check_modes(FpOp::FCVT_S_D, df(0x1p-150), 0, 0, {{sb(0), sb(0), sb(0), sb(1), sb(1)}}, kNX | kUF);
  check_modes(FpOp::FCVT_S_D, df(0x1p-149), 0, 0, {{sb(1), sb(1), sb(1), sb(1), sb(1)}}, 0);
  check_modes(FpOp::FCVT_S_D, 1, 0, 0, {{sb(0), sb(0), sb(0), sb(1), sb(0)}}, kNX | kUF);
  EXPECT_TRUE(check(FpOp::FCVT_S_D, kRNE, 0x7ff0000000000001, 0, 0, kQNaN32, kNV));
  EXPECT_TRUE(check(FpOp::FCVT_S_D, kRNE, 0xfff8000000001234, 0, 0, kQNaN32, 0));
  EXPECT_TRUE(check(FpOp::FCVT_S_D, kRTZ, df(-INFINITY), 0, 0, sf(-INFINITY), 0));
  EXPECT_TRUE(check(FpOp::FCVT_S_D, kRTZ, df(-0.0), 0, 0, sf(-0.0f), 0));
  // fcvt.d.s is exact.
  EXPECT_TRUE(check(FpOp::FCVT_D_S, kRNE, sb(1), 0, 0, df(0x1p-149), 0));
  EXPECT_TRUE(check(FpOp::FCVT_D_S, kRDN, sb(0x3eaaaaab), 0, 0, 0x3fd5555560000000, 0));
  EXPECT_TRUE(check(FpOp::FCVT_D_S, kRNE, sb(0x7f800001), 0, 0, kQNaN64, kNV));
  EXPECT_TRUE(check(FpOp::FCVT_D_S, kRNE, sb(0xffc00001), 0, 0, kQNaN64, 0));
  EXPECT_TRUE(check(FpOp::FCVT_D_S, kRNE, sf(-INFINITY), 0, 0, df(-INFINITY), 0));
}

// ---- rounding-mode field ----------------------------------------------------

TEST(Fpu, ReservedRoundingModes) {
  const FpOp rounding_ops[] = {FpOp::FADD_S,    FpOp::FSQRT_D,   FpOp::FMADD_D,  FpOp::FNMADD_S,
                               FpOp::FCVT_W_D,  FpOp::FCVT_WU_S, FpOp::FCVT_S_L, FpOp::FCVT_D_W,
                               FpOp::FCVT_D_WU, FpOp::FCVT_D_S,  FpOp::FCVT_S_D, FpOp::FDIV_S};
  for (FpOp op : rounding_ops) {
    for (unsigned rm : {5u, 6u}) {
      EXPECT_FALSE(run(op, rm, df(1.0), df(1.0), df(1.0)).ok) << static_cast<int>(op);
      EXPECT_FALSE(run(op, rm, df(1.0), df(1.0), df(1.0), true).ok) << static_cast<int>(op);
    }
    for (uint32_t frm : {5u, 6u, 7u}) {
      EXPECT_FALSE(run(op, kDYN, df(1.0), df(1.0), df(1.0), false, frm).ok) << static_cast<int>(op);
    }
    EXPECT_TRUE(run(op, kDYN, df(1.0), df(1.0), df(1.0), false, kRMM).ok);
  }
  // An illegal instruction leaves no trace.
  FpState fp;
  fp.frm = 6;
  uint64_t x[33] = {};
  fp.f[1] = df(1.0);
  fp.f[2] = df(3.0);
  EXPECT_FALSE(fp_execute(FpOp::FDIV_D, kDYN, fp, x, 5, 1, 2, 0));
  EXPECT_EQ(fp.f[5], 0u);
  EXPECT_EQ(fp.fflags, 0u);
  // Non-rounding ops never look at rm.
  const FpOp quiet_ops[] = {FpOp::FSGNJ_S, FpOp::FSGNJX_D, FpOp::FMIN_D,  FpOp::FMAX_S,
                            FpOp::FEQ_S,   FpOp::FLT_D,    FpOp::FLE_S,   FpOp::FCLASS_D,
                            FpOp::FMV_X_W, FpOp::FMV_W_X,  FpOp::FMV_X_D, FpOp::FMV_D_X};
  for (FpOp op : quiet_ops) {
    EXPECT_TRUE(run(op, 5, sf(1.0f), sf(1.0f)).ok);
    EXPECT_TRUE(run(op, kDYN, sf(1.0f), sf(1.0f), 0, false, 7).ok);
  }
}

TEST(Fpu, DynamicRoundingMode) {
  const uint64_t want[5] = {0x3fd5555555555555, 0x3fd5555555555555, 0x3fd5555555555555,
                            0x3fd5555555555556, 0x3fd5555555555555};
  for (uint32_t frm = 0; frm < 5; ++frm) {
    for (int soft = 0; soft < 2; ++soft) {
      const Out o = run(FpOp::FDIV_D, kDYN, df(1.0), df(3.0), 0, soft != 0, frm);
      EXPECT_TRUE(o.ok);
      EXPECT_EQ(o.f, want[frm]) << frm;
    }
  }
  // Static rm overrides frm.
  EXPECT_EQ(run(FpOp::FDIV_D, kRUP, df(1.0), df(3.0), 0, false, kRTZ).f, 0x3fd5555555555556u);
}

TEST(Fpu, FlagsAccrue) {
  // Flags are OR-ed into fflags, never cleared.
  const Out o = run(FpOp::FADD_D, kRNE, df(1.0), df(2.0), 0, false, 0, kDZ | kNV);
  EXPECT_EQ(o.flags, kDZ | kNV);
  const Out o2 = run(FpOp::FDIV_D, kRNE, df(1.0), df(3.0), 0, false, 0, kDZ);
  EXPECT_EQ(o2.flags, kDZ | kNX);
}

#if defined(__x86_64__)
// The host MXCSR protocol: the guest may clear fflags between instructions
// and must see new exceptions again; directed modes leave the host in RNE;
// foreign MXCSR state is not trusted.
TEST(Fpu, HostStateProtocol) {
  FpState fp;
  uint64_t x[33] = {};
  fp.f[1] = df(1.0);
  fp.f[2] = df(3.0);
  ASSERT_TRUE(fp_execute(FpOp::FDIV_D, kRNE, fp, x, 5, 1, 2, 0));
  EXPECT_EQ(fp.fflags, kNX);
  fp.fflags = 0;  // csrw fflags, 0
  ASSERT_TRUE(fp_execute(FpOp::FDIV_D, kRNE, fp, x, 5, 1, 2, 0));
  EXPECT_EQ(fp.fflags, kNX);
  fp.fflags = 0;
  ASSERT_TRUE(fp_execute(FpOp::FADD_D, kRNE, fp, x, 5, 1, 2, 0));  // exact
  EXPECT_EQ(fp.fflags, 0u);

  ASSERT_TRUE(fp_execute(FpOp::FDIV_D, kRUP, fp, x, 5, 1, 2, 0));
  EXPECT_EQ(_mm_getcsr() & 0x6000u, 0u);  // host back in round-to-nearest
  EXPECT_EQ(fp.f[5], 0x3fd5555555555556u);
  EXPECT_EQ(fp.fflags, kNX);
  // The same in a directed mode: cleared fflags, stale host flags.
  fp.fflags = 0;
  ASSERT_TRUE(fp_execute(FpOp::FADD_D, kRTZ, fp, x, 5, 1, 2, 0));  // exact
  EXPECT_EQ(fp.fflags, 0u);
  ASSERT_TRUE(fp_execute(FpOp::FDIV_D, kRDN, fp, x, 5, 1, 2, 0));
  EXPECT_EQ(fp.fflags, kNX);
  fp.fflags = 0;
  ASSERT_TRUE(fp_execute(FpOp::FDIV_D, kRTZ, fp, x, 5, 1, 2, 0));
  EXPECT_EQ(fp.fflags, kNX);
  fp.fflags = kNX;  // NX already accrued: the stale host PE may stay
  fp.f[7] = df(0x1p-1000);
  ASSERT_TRUE(fp_execute(FpOp::FMUL_D, kRUP, fp, x, 5, 7, 7, 0));  // underflows
  EXPECT_EQ(fp.f[5], 1u);
  EXPECT_EQ(fp.fflags, kNX | kUF);
  EXPECT_EQ(_mm_getcsr() & 0xffc0u, 0x1f80u);

  // Somebody left the host in round-up with FTZ: RNE ops must not notice.
  const unsigned saved = _mm_getcsr();
  _mm_setcsr(0x1f80 | 0x4000 | 0x8000);
  fp.fflags = 0;
  ASSERT_TRUE(fp_execute(FpOp::FDIV_D, kRNE, fp, x, 5, 1, 2, 0));
  EXPECT_EQ(fp.f[5], 0x3fd5555555555555u);
  fp.f[3] = 1;  // subnormal * 0.5 with FTZ would flush
  fp.f[4] = df(0.5);
  ASSERT_TRUE(fp_execute(FpOp::FMUL_D, kRNE, fp, x, 6, 3, 4, 0));
  EXPECT_EQ(fp.f[6], 0u);
  EXPECT_EQ(fp.fflags, kNX | kUF);
  fp.f[3] = 3;
  ASSERT_TRUE(fp_execute(FpOp::FMUL_D, kRNE, fp, x, 6, 3, 4, 0));
  EXPECT_EQ(fp.f[6], 2u);
  _mm_setcsr(saved);
}
#endif  // __x86_64__

// ---- randomized cross-checks ------------------------------------------------

template <class U>
struct Fmt;
template <>
struct Fmt<uint32_t> {
  static constexpr int kP = 24;
  static constexpr int kExpBits = 8;
};
template <>
struct Fmt<uint64_t> {
  static constexpr int kP = 53;
  static constexpr int kExpBits = 11;
};

// Random values biased toward the interesting parts of the encoding space.
template <class U>
U gen(std::mt19937_64& rng) {
  constexpr int kBits = sizeof(U) * 8;
  constexpr int kFrac = Fmt<U>::kP - 1;
  constexpr U kExpMax = (U{1} << Fmt<U>::kExpBits) - 1;
  constexpr U kSign = U{1} << (kBits - 1);
  const U sign = (rng() & 1) != 0 ? kSign : 0;
  U frac = static_cast<U>(rng()) & ((U{1} << kFrac) - 1);
  if ((rng() & 1) != 0) {
    // Short significands make exact results and ties likely.
    const int keep = static_cast<int>(rng() % (kFrac + 1));
    frac &= ~((U{1} << (kFrac - keep)) - 1);
  }
  if (rng() % 8 == 0) frac = static_cast<U>((U{1} << kFrac) - 1 - (rng() % 4));  // all ones
  U exp;
  switch (rng() % 10) {
    case 0: {
      const U specials[] = {0, kExpMax, kExpMax, 1, 2};
      exp = specials[rng() % 5];
      if (exp == kExpMax && (rng() % 3) != 0) frac = 0;  // inf more often than NaN
      break;
    }
    case 1: exp = static_cast<U>(rng() % 40); break;                      // tiny
    case 2: exp = static_cast<U>(kExpMax - 1 - rng() % 40); break;        // huge
    case 3: return static_cast<U>(rng());                                 // anything
    default: exp = static_cast<U>(kExpMax / 2 - 30 + rng() % 60); break;  // near 1
  }
  return sign | (exp << kFrac) | frac;
}

template <class U>
uint64_t box(U v) {
  if constexpr (sizeof(U) == 4) {
    return sb(v);
  } else {
    return v;
  }
}

struct OpInfo {
  FpOp op;
  int nargs;
};

template <class U>
uint64_t pick_related(std::mt19937_64& rng, U a) {
  // Same or neighbouring magnitude, either sign: cancellation, ties, equality.
  U b = a;
  switch (rng() % 4) {
    case 0: b ^= U{1} << (sizeof(U) * 8 - 1); break;
    case 1: b += static_cast<U>(rng() % 5) - 2; break;
    case 2: b ^= static_cast<U>(rng() % 8) << (Fmt<U>::kP - 1); break;  // shift exponent
    default: break;
  }
  return box(b);
}

uint64_t random_operand(std::mt19937_64& rng, bool single) {
  return single ? sb(gen<uint32_t>(rng)) : gen<uint64_t>(rng);
}

// Host path (RNE, RTZ, RDN, RUP) must agree with the software path bit for
// bit, flags included.
TEST(Fpu, HostMatchesSoftware) {
  const OpInfo ops[] = {
      {FpOp::FADD_S, 2},   {FpOp::FSUB_S, 2},   {FpOp::FMUL_S, 2},   {FpOp::FDIV_S, 2},
      {FpOp::FSQRT_S, 1},  {FpOp::FMADD_S, 3},  {FpOp::FMSUB_S, 3},  {FpOp::FNMSUB_S, 3},
      {FpOp::FNMADD_S, 3}, {FpOp::FADD_D, 2},   {FpOp::FSUB_D, 2},   {FpOp::FMUL_D, 2},
      {FpOp::FDIV_D, 2},   {FpOp::FSQRT_D, 1},  {FpOp::FMADD_D, 3},  {FpOp::FMSUB_D, 3},
      {FpOp::FNMSUB_D, 3}, {FpOp::FNMADD_D, 3}, {FpOp::FCVT_S_D, 1},
  };
  const char* env = std::getenv("VESSEL_FPU_ITERS");
  const long iters = env != nullptr ? std::atol(env) : 20000;
  std::mt19937_64 rng(12345);
  long failures = 0;
  for (const OpInfo& info : ops) {
    const bool single = static_cast<int>(info.op) < static_cast<int>(FpOp::FMADD_D);
    for (long i = 0; i < iters; ++i) {
      const uint64_t a = random_operand(rng, single);
      uint64_t b = random_operand(rng, single);
      uint64_t c = random_operand(rng, single);
      if (rng() % 3 == 0) {
        b = single ? pick_related<uint32_t>(rng, static_cast<uint32_t>(a))
                   : pick_related<uint64_t>(rng, a);
      }
      if (info.nargs == 3 && rng() % 2 == 0) {
        // c close to -(a*b): heavy cancellation.
        const Out p = run(single ? FpOp::FMUL_S : FpOp::FMUL_D, rng() % 4, a, b);
        c = p.f ^ (single ? 0x80000000ull : 0x8000000000000000ull);
        if (rng() % 2 == 0) c += (rng() % 3) - 1;
        if (single) c = sb(static_cast<uint32_t>(c));
      }
      const unsigned rm = static_cast<unsigned>(rng() % 4);
      const Out h = run(info.op, rm, a, b, c, false);
      const Out s = run(info.op, rm, a, b, c, true);
      if (h.f != s.f || h.flags != s.flags) {
        if (++failures <= 20) {
          ADD_FAILURE() << "op " << static_cast<int>(info.op) << " rm " << rm << " a=" << hex(a)
                        << " b=" << hex(b) << " c=" << hex(c) << " host " << hex(h.f) << "/"
                        << h.flags << " soft " << hex(s.f) << "/" << s.flags;
        }
      }
    }
  }
  EXPECT_EQ(failures, 0);
}

// Exact a + b (TwoSum; W has enough range) -> returns true if exact == mid.
template <class W>
bool sum_equals(W a, W b, W mid) {
  const W s = a + b;
  const W bb = s - a;
  const W err = (a - (s - bb)) + (b - bb);
  return err == 0 && s == mid;
}

// RMM oracle: RMM differs from RNE only on exact ties, where it takes the
// candidate away from zero; its flags equal RNE's. Ties are detected exactly
// in a wider format W (double for single, __float128 for double).
template <class U, class T, class W>
void check_rmm(FpOp op, int kind, uint64_t a, uint64_t b, uint64_t c, long& failures) {
  const Out rne = run(op, kRNE, a, b, c);
  const Out rtz = run(op, kRTZ, a, b, c);
  const Out rmm = run(op, kRMM, a, b, c);
  const auto rne_v = static_cast<U>(rne.f);
  const auto rtz_v = static_cast<U>(rtz.f);
  constexpr U kMag = static_cast<U>(~U{0}) >> 1;
  constexpr U kInf = static_cast<U>(((U{1} << Fmt<U>::kExpBits) - 1) << (Fmt<U>::kP - 1));
  U want = rne_v;
  if ((rne_v & kMag) < kInf && (rtz_v & kMag) + 1 < kInf) {
    const U away_v = rtz_v + 1;  // next magnitude, same sign
    const W mid =
        (static_cast<W>(std::bit_cast<T>(rtz_v)) + static_cast<W>(std::bit_cast<T>(away_v))) / 2;
    auto val = [](uint64_t bits) { return static_cast<W>(std::bit_cast<T>(static_cast<U>(bits))); };
    bool tie = false;
    const W wa = val(a);
    const W wb = val(b);
    const W wc = val(c);
    switch (kind) {
      case 0: tie = sum_equals<W>(wa, wb, mid); break;
      case 1: tie = sum_equals<W>(wa, -wb, mid); break;
      case 2: tie = wa * wb == mid; break;
      case 3: tie = wb != 0 && mid * wb == wa; break;
      case 4: tie = sum_equals<W>(wa * wb, wc, mid); break;
      case 5: tie = sum_equals<W>(wa * wb, -wc, mid); break;
      case 6: tie = sum_equals<W>(-(wa * wb), wc, mid); break;
      case 7: tie = sum_equals<W>(-(wa * wb), -wc, mid); break;
      case 8: tie = false; break;                                            // sqrt never ties
      case 9: tie = static_cast<W>(std::bit_cast<double>(a)) == mid; break;  // cvt.s.d
      default: break;
    }
    if (tie) want = away_v;
  }
  if (static_cast<U>(rmm.f) != want || rmm.flags != rne.flags) {
    if (++failures <= 20) {
      ADD_FAILURE() << "RMM op " << static_cast<int>(op) << " a=" << hex(a) << " b=" << hex(b)
                    << " c=" << hex(c) << " got " << hex(rmm.f) << "/" << rmm.flags << " want "
                    << hex(want) << "/" << rne.flags;
    }
  }
}

TEST(Fpu, RmmMatchesTieOracle) {
  const char* env = std::getenv("VESSEL_FPU_ITERS");
  const long iters = env != nullptr ? std::atol(env) : 20000;
  std::mt19937_64 rng(777);
  long failures = 0;
  const FpOp sops[] = {FpOp::FADD_S,  FpOp::FSUB_S,  FpOp::FMUL_S,   FpOp::FDIV_S,
                       FpOp::FMADD_S, FpOp::FMSUB_S, FpOp::FNMSUB_S, FpOp::FNMADD_S,
                       FpOp::FSQRT_S, FpOp::FCVT_S_D};
  const FpOp dops[] = {FpOp::FADD_D,  FpOp::FSUB_D,   FpOp::FMUL_D,   FpOp::FDIV_D, FpOp::FMADD_D,
                       FpOp::FMSUB_D, FpOp::FNMSUB_D, FpOp::FNMADD_D, FpOp::FSQRT_D};
  for (int kind = 0; kind < 10; ++kind) {
    for (long i = 0; i < iters; ++i) {
      const bool cvt = kind == 9;
      uint64_t a = cvt ? gen<uint64_t>(rng) : sb(gen<uint32_t>(rng));
      uint64_t b = rng() % 3 == 0 ? pick_related<uint32_t>(rng, static_cast<uint32_t>(a))
                                  : sb(gen<uint32_t>(rng));
      uint64_t c = sb(gen<uint32_t>(rng));
      check_rmm<uint32_t, float, double>(sops[kind], kind, a, b, c, failures);
      if (kind == 9) continue;
      a = gen<uint64_t>(rng);
      b = rng() % 3 == 0 ? pick_related<uint64_t>(rng, a) : gen<uint64_t>(rng);
      c = gen<uint64_t>(rng);
      if (kind >= 4 && kind <= 7 && rng() % 2 == 0) {
        c = run(FpOp::FMUL_D, rng() % 4, a, b).f ^ (1ull << 63);
        if (kind == 5 || kind == 6) c ^= 1ull << 63;
        c += (rng() % 3) - 1;
      }
      check_rmm<uint64_t, double, __float128>(dops[kind], kind, a, b, c, failures);
    }
  }
  EXPECT_EQ(failures, 0);
}

// Float -> int against libm rounding in long double.
TEST(Fpu, ToIntMatchesLibm) {
  std::mt19937_64 rng(99);
  long failures = 0;
  struct Cvt {
    FpOp op;
    bool single;
    bool is_signed;
    int bits;
  };
  const Cvt cvts[] = {
      {FpOp::FCVT_W_S, true, true, 32},  {FpOp::FCVT_WU_S, true, false, 32},
      {FpOp::FCVT_L_S, true, true, 64},  {FpOp::FCVT_LU_S, true, false, 64},
      {FpOp::FCVT_W_D, false, true, 32}, {FpOp::FCVT_WU_D, false, false, 32},
      {FpOp::FCVT_L_D, false, true, 64}, {FpOp::FCVT_LU_D, false, false, 64},
  };
  for (const Cvt& cv : cvts) {
    for (int i = 0; i < 20000; ++i) {
      uint64_t a;
      long double v;
      if (cv.single) {
        uint32_t u = gen<uint32_t>(rng);
        if (rng() % 2 == 0) u = (u & 0x807fffff) | ((127 + rng() % 66) << 23);  // 1 .. 2^65
        a = sb(u);
        v = std::bit_cast<float>(u);
      } else {
        a = gen<uint64_t>(rng);
        if (rng() % 2 == 0) a = (a & 0x800fffffffffffff) | ((1023 + rng() % 66) << 52);
        v = std::bit_cast<double>(a);
      }
      const unsigned rm = static_cast<unsigned>(rng() % 5);
      long double r;
      switch (rm) {
        case kRNE: r = std::nearbyint(v); break;  // host is in RNE
        case kRTZ: r = std::trunc(v); break;
        case kRDN: r = std::floor(v); break;
        case kRUP: r = std::ceil(v); break;
        default: r = std::round(v); break;
      }
      const long double lo = cv.is_signed ? -std::ldexp(1.0L, cv.bits - 1) : 0.0L;
      const long double hi =
          cv.is_signed ? std::ldexp(1.0L, cv.bits - 1) - 1 : std::ldexp(1.0L, cv.bits) - 1;
      const uint64_t max_v =
          cv.is_signed ? (cv.bits == 32 ? 0x7fffffffull : 0x7fffffffffffffffull) : ~0ull;
      const uint64_t min_v =
          cv.is_signed ? (cv.bits == 32 ? 0xffffffff80000000ull : 0x8000000000000000ull) : 0;
      uint64_t want;
      uint32_t want_fl = 0;
      if (std::isnan(v)) {
        want = max_v;
        want_fl = kNV;
      } else if (r > hi) {
        want = max_v;
        want_fl = kNV;
      } else if (r < lo) {
        want = min_v;
        want_fl = kNV;
      } else {
        if (cv.is_signed) {
          want = static_cast<uint64_t>(static_cast<int64_t>(r));
        } else {
          want = static_cast<uint64_t>(r);
          if (cv.bits == 32)
            want = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(want)));
        }
        if (r != v) want_fl = kNX;
      }
      const Out o = run(cv.op, rm, a);
      if (o.x != want || o.flags != want_fl) {
        if (++failures <= 20) {
          ADD_FAILURE() << "op " << static_cast<int>(cv.op) << " rm " << rm << " a=" << hex(a)
                        << " got " << hex(o.x) << "/" << o.flags << " want " << hex(want) << "/"
                        << want_fl;
        }
      }
    }
  }
  EXPECT_EQ(failures, 0);
}

// Int -> float against the host's conversion under fesetround, plus a tie
// oracle for RMM.
template <class T>
T convert_in_mode(long double v, int mode) {
  std::fesetround(mode);
  volatile long double vv = v;
  volatile T r = static_cast<T>(vv);
  std::fesetround(FE_TONEAREST);
  return r;
}

TEST(Fpu, FromIntMatchesHost) {
  std::mt19937_64 rng(4242);
  long failures = 0;
  const FpOp ops[] = {FpOp::FCVT_S_W, FpOp::FCVT_S_WU, FpOp::FCVT_S_L, FpOp::FCVT_S_LU,
                      FpOp::FCVT_D_W, FpOp::FCVT_D_WU, FpOp::FCVT_D_L, FpOp::FCVT_D_LU};
  const int modes[] = {FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD};
  for (int k = 0; k < 8; ++k) {
    const FpOp op = ops[k];
    const bool single = k < 4;
    const bool is_signed = (k % 2) == 0;
    const bool word = (k % 4) < 2;
    for (int i = 0; i < 20000; ++i) {
      uint64_t xv = rng() >> (rng() % 64);
      if (rng() % 2 == 0) xv &= ~((1ull << (rng() % 40)) - 1);  // trailing zeros
      if (rng() % 4 == 0) xv |= (1ull << (rng() % 64)) >> 1;
      if (rng() % 2 == 0) xv = 0 - xv;
      if (rng() % 2 == 0) xv = (xv & 0xffffffffull) | (rng() << 32);  // garbage high half
      long double v;
      if (word) {
        v = is_signed ? static_cast<long double>(static_cast<int32_t>(xv))
                      : static_cast<long double>(static_cast<uint32_t>(xv));
      } else {
        v = is_signed ? static_cast<long double>(static_cast<int64_t>(xv))
                      : static_cast<long double>(xv);
      }
      const unsigned rm = static_cast<unsigned>(rng() % 5);
      uint64_t want;
      if (rm < 4) {
        want = single ? sf(convert_in_mode<float>(v, modes[rm]))
                      : df(convert_in_mode<double>(v, modes[rm]));
      } else {
        // RMM: RNE unless an exact tie, then the larger magnitude.
        const long double rtz = single ? convert_in_mode<float>(v, FE_TOWARDZERO)
                                       : convert_in_mode<double>(v, FE_TOWARDZERO);
        const long double away =
            single ? std::nextafter(static_cast<float>(rtz), v < 0 ? -INFINITY : INFINITY)
                   : std::nextafter(static_cast<double>(rtz), v < 0 ? -INFINITY : INFINITY);
        const bool tie = rtz != v && (rtz + away) / 2 == v;
        if (single) {
          want = sf(tie ? static_cast<float>(away) : convert_in_mode<float>(v, FE_TONEAREST));
        } else {
          want = df(tie ? static_cast<double>(away) : convert_in_mode<double>(v, FE_TONEAREST));
        }
      }
      const long double got_v =
          single ? static_cast<long double>(std::bit_cast<float>(static_cast<uint32_t>(want)))
                 : static_cast<long double>(std::bit_cast<double>(want));
      const uint32_t want_fl = got_v != v ? kNX : 0;
      const Out o = run(op, rm, xv);
      if (o.f != want || o.flags != want_fl) {
        if (++failures <= 20) {
          ADD_FAILURE() << "op " << static_cast<int>(op) << " rm " << rm << " x=" << hex(xv)
                        << " got " << hex(o.f) << "/" << o.flags << " want " << hex(want) << "/"
                        << want_fl;
        }
      }
    }
  }
  EXPECT_EQ(failures, 0);
}

TEST(Fpu, WritesX) {
  EXPECT_TRUE(fp_writes_x(FpOp::FCVT_W_S));
  EXPECT_TRUE(fp_writes_x(FpOp::FCVT_LU_D));
  EXPECT_TRUE(fp_writes_x(FpOp::FMV_X_W));
  EXPECT_TRUE(fp_writes_x(FpOp::FMV_X_D));
  EXPECT_TRUE(fp_writes_x(FpOp::FEQ_D));
  EXPECT_TRUE(fp_writes_x(FpOp::FLE_S));
  EXPECT_TRUE(fp_writes_x(FpOp::FCLASS_D));
  EXPECT_FALSE(fp_writes_x(FpOp::FCVT_S_W));
  EXPECT_FALSE(fp_writes_x(FpOp::FMV_W_X));
  EXPECT_FALSE(fp_writes_x(FpOp::FMV_D_X));
  EXPECT_FALSE(fp_writes_x(FpOp::FADD_D));
  EXPECT_FALSE(fp_writes_x(FpOp::FCVT_D_S));
  EXPECT_FALSE(fp_writes_x(FpOp::FSGNJ_S));
}

}  // namespace
}  // namespace vessel::rv
