/* Integer arithmetic edge cases: 64/32-bit add/sub/mul/div/rem, overflow,
 * shifts, extensions, comparisons, bit operations. Expected values follow
 * from C semantics (two's complement wrap of unsigned arithmetic, truncating
 * division) and, in the __riscv blocks, from the RISC-V unprivileged ISA
 * (division by zero / overflow results, shift-amount masking, *W ops). */
#include <limits.h>
#include <stdint.h>

#include "check.h"

typedef __int128 i128;
typedef unsigned __int128 u128;

static uint64_t mulhu(uint64_t a, uint64_t b) { return (uint64_t)(((u128)a * b) >> 64); }
static int64_t mulh(int64_t a, int64_t b) { return (int64_t)(((i128)a * b) >> 64); }
static int64_t mulhsu(int64_t a, uint64_t b) { return (int64_t)(((i128)a * (i128)b) >> 64); }

static void test_add_sub(void) {
    CHECK_EQ(OPQ(UINT64_MAX) + 1, 0);
    CHECK_EQ(OPQ((uint64_t)0) - 1, UINT64_MAX);
    CHECK_EQ((uint64_t)OPQ(INT64_MAX) + 1, 0x8000000000000000ull);
    int64_t r;
    CHECK(__builtin_add_overflow(OPQ(INT64_MAX), (int64_t)1, &r));
    CHECK_EQ(r, INT64_MIN);
    CHECK(__builtin_sub_overflow(OPQ(INT64_MIN), (int64_t)1, &r));
    CHECK_EQ(r, INT64_MAX);
    CHECK(!__builtin_add_overflow(OPQ(INT64_MAX), (int64_t)-1, &r));
    CHECK_EQ(r, INT64_MAX - 1);
    CHECK(__builtin_mul_overflow(OPQ(INT64_MAX), (int64_t)2, &r));
    CHECK_EQ(r, -2);
    CHECK(__builtin_mul_overflow(OPQ((int64_t)1 << 32), (int64_t)1 << 32, &r));
    CHECK_EQ(r, 0);
    CHECK(!__builtin_mul_overflow(OPQ((int64_t)INT32_MIN), (int64_t)1 << 32, &r));
    CHECK_EQ(r, INT64_MIN);
    uint64_t u;
    CHECK(__builtin_mul_overflow(OPQ(UINT64_MAX), UINT64_MAX, &u));
    CHECK_EQ(u, 1);
    CHECK(__builtin_add_overflow(OPQ(UINT64_MAX), (uint64_t)2, &u));
    CHECK_EQ(u, 1);
    /* 32-bit arithmetic wraps, results sign-extend when widened. */
    int32_t w = (int32_t)((uint32_t)OPQ(INT32_MAX) + 1u);
    CHECK_EQ((int64_t)w, (int64_t)INT32_MIN);
    CHECK_EQ((uint64_t)(int64_t)w, 0xffffffff80000000ull);
    int32_t s32;
    CHECK(__builtin_add_overflow(OPQ((int32_t)INT32_MAX), (int32_t)1, &s32));
    CHECK_EQ((int64_t)s32, (int64_t)INT32_MIN);
    uint32_t u32 = OPQ(0u) - 1u;
    CHECK_EQ((uint64_t)u32, 0xffffffffull);
    CHECK_EQ((int64_t)(int32_t)OPQ(0x80000000u), -2147483648ll);
    CHECK_EQ((uint64_t)(uint32_t)OPQ(-1), 0xffffffffull);
}

static void test_mul(void) {
    uint64_t a = OPQ(0x123456789abcdef0ull), b = OPQ(0x0fedcba987654321ull);
    CHECK_EQ(a * b, 0x2236d88fe5618cf0ull);
    CHECK_EQ(mulhu(a, b), 0x0121fa00ad77d742ull);
    CHECK_EQ(mulhu(OPQ(UINT64_MAX), UINT64_MAX), 0xfffffffffffffffeull);
    CHECK_EQ(OPQ(UINT64_MAX) * UINT64_MAX, 1);
    CHECK_EQ(mulhu(OPQ(0xfedcba9876543210ull), 0xfedcba9876543210ull), 0xfdbac097c8dc5accull);
    CHECK_EQ(OPQ(0xfedcba9876543210ull) * 0xfedcba9876543210ull, 0xdeec6cd7a44a4100ull);
    CHECK_EQ(mulh(OPQ(-1), -1), 0);
    CHECK_EQ(mulh(OPQ(INT64_MIN), INT64_MIN), 0x4000000000000000ull);
    CHECK_EQ(mulh(OPQ(INT64_MIN), -1), 0);
    CHECK_EQ((uint64_t)OPQ(INT64_MIN) * (uint64_t)-1, 0x8000000000000000ull);
    CHECK_EQ(mulh(OPQ(INT64_MIN), INT64_MAX), 0xc000000000000000ull);
    CHECK_EQ((uint64_t)OPQ(INT64_MIN) * (uint64_t)INT64_MAX, 0x8000000000000000ull);
    int64_t c = OPQ((int64_t)0xfedcba9876543210ull);
    CHECK_EQ(mulh(c, c), 0x00014b66dc33f6acull);
    CHECK_EQ(mulh(c, 0x1234567890abcdefll), 0xffeb49923ccc0953ull);
    CHECK_EQ(mulhsu(c, 0xfedcba9876543210ull), 0xfede05ff528828bcull);
    CHECK_EQ(mulhsu(OPQ(-1), UINT64_MAX), UINT64_MAX);
    CHECK_EQ((uint64_t)OPQ(-1) * UINT64_MAX, 1);
    CHECK_EQ(mulhsu(OPQ(1), UINT64_MAX), 0);
    /* 32-bit multiply: low 32 bits, sign-extended. */
    int32_t m = (int32_t)((uint32_t)OPQ(0x12345678) * 0x9abcdef0u);
    CHECK_EQ((uint32_t)m, (uint32_t)(0x12345678ull * 0x9abcdef0ull));
    CHECK_EQ((int64_t)(int32_t)((uint32_t)OPQ(65536) * 32768u), (int64_t)INT32_MIN);
    /* Factorials wrap modulo 2^64. */
    uint64_t f = 1;
    for (uint64_t i = 1; i <= OPQ(20u); i++) f *= i;
    CHECK_EQ(f, 2432902008176640000ull);
    f *= OPQ(21u);
    CHECK_EQ(f, 14197454024290336768ull);
    for (uint64_t i = 22; i <= OPQ(25u); i++) f *= i;
    CHECK_EQ(f, 7034535277573963776ull);
}

static uint64_t powmod(uint64_t b, uint64_t e, uint64_t m) {
    uint64_t r = 1 % m;
    b %= m;
    while (e) {
        if (e & 1) r = (uint64_t)((u128)r * b % m);
        b = (uint64_t)((u128)b * b % m);
        e >>= 1;
    }
    return r;
}

static void test_div(void) {
    int64_t m7 = OPQ((int64_t)-7), p7 = OPQ((int64_t)7), two = OPQ((int64_t)2), m2 = OPQ((int64_t)-2);
    CHECK_EQ(m7 / two, -3);
    CHECK_EQ(m7 % two, -1);
    CHECK_EQ(p7 / m2, -3);
    CHECK_EQ(p7 % m2, 1);
    CHECK_EQ(m7 / m2, 3);
    CHECK_EQ(m7 % m2, -1);
    CHECK_EQ(OPQ(INT64_MIN) / 1, INT64_MIN);
    CHECK_EQ(OPQ(INT64_MIN) / 2, -4611686018427387904ll);
    CHECK_EQ(OPQ(INT64_MIN) % 3, -2);
    CHECK_EQ(OPQ(INT64_MIN) / 3, -3074457345618258602ll);
    CHECK_EQ(OPQ(INT64_MAX) / -1, -INT64_MAX);
    CHECK_EQ(OPQ(UINT64_MAX) / 3, 0x5555555555555555ull);
    CHECK_EQ(OPQ(UINT64_MAX) / 10, 1844674407370955161ull);
    CHECK_EQ(OPQ(UINT64_MAX) % 10, 5);
    CHECK_EQ(OPQ(0x8000000000000000ull) / 0xffffffffffffffffull, 0);
    CHECK_EQ(OPQ(0x8000000000000000ull) % 0xffffffffffffffffull, 0x8000000000000000ull);
    CHECK_EQ(OPQ(UINT64_MAX) / 0x100000000ull, 0xffffffffull);
    int32_t a32 = OPQ((int32_t)-7), b32 = OPQ((int32_t)2);
    CHECK_EQ((int64_t)(a32 / b32), -3);
    CHECK_EQ((int64_t)(a32 % b32), -1);
    uint32_t ua = OPQ(0xfffffff9u), ub = OPQ(2u);
    CHECK_EQ((uint64_t)(ua / ub), 0x7ffffffcull);
    CHECK_EQ((uint64_t)(ua % ub), 1);
    /* q*d + r == n, |r| < |d|, sign(r) == sign(n), over a sweep. */
    int bad = 0;
    int64_t n = OPQ((int64_t)0x7123456789abcdefll);
    for (int i = 0; i < 200; i++) {
        int64_t d = (int64_t)((uint64_t)n * 0x9e3779b97f4a7c15ull) >> (i % 60);
        if (d == 0 || (n == INT64_MIN && d == -1)) continue;
        int64_t q = n / d, r = n % d;
        if ((uint64_t)q * (uint64_t)d + (uint64_t)r != (uint64_t)n) bad++;
        if (r != 0 && ((r < 0) != (n < 0))) bad++;
        if ((r < 0 ? -(uint64_t)r : (uint64_t)r) >= (d < 0 ? -(uint64_t)d : (uint64_t)d)) bad++;
        uint64_t un = (uint64_t)n, ud = (uint64_t)d;
        if ((un / ud) * ud + un % ud != un || un % ud >= ud) bad++;
        n = (int64_t)((uint64_t)n * 6364136223846793005ull + 1442695040888963407ull);
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(powmod(3, 1000, 1000000007), 56888193);
    CHECK_EQ(powmod(0x123456789ull, 0xabcdef, (1ull << 61) - 1), 969244743055522057ull);
    /* 128-bit division (libgcc). */
    u128 big = (u128)OPQ(UINT64_MAX) * UINT64_MAX;
    CHECK_EQ((uint64_t)(big / UINT64_MAX), UINT64_MAX);
    CHECK_EQ((uint64_t)(big % 1000000007u), (uint64_t)(((u128)0xfffffffffffffffeull << 64 | 1) % 1000000007u));
}

static void test_shifts(void) {
    uint64_t one = OPQ((uint64_t)1);
    CHECK_EQ(one << 63, 0x8000000000000000ull);
    CHECK_EQ(OPQ(INT64_MIN) >> 63, -1);
    CHECK_EQ(OPQ(INT64_MIN) >> 1, (int64_t)0xc000000000000000ull);
    CHECK_EQ(OPQ(UINT64_MAX) >> 63, 1);
    CHECK_EQ(OPQ((int32_t)INT32_MIN) >> 31, -1);
    CHECK_EQ((uint64_t)(OPQ(0x80000000u) >> 31), 1);
    CHECK_EQ((int64_t)(int32_t)(OPQ(1u) << 31), (int64_t)INT32_MIN);
    int bad = 0;
    for (unsigned s = 0; s < 64; s++) {
        unsigned sh = OPQ(s);
        uint64_t p = 1;
        for (unsigned k = 0; k < s; k++) p *= 2;
        if ((one << sh) != p) bad++;
        if ((UINT64_MAX >> sh) != UINT64_MAX / p) bad++;
        if ((OPQ((int64_t)-1) >> sh) != -1) bad++;
        if ((OPQ(INT64_MIN) >> sh) != (int64_t)(0 - (one << (63 - s)))) bad++;
        if (sh < 63 && ((int64_t)OPQ((int64_t)-1000) >> sh) != (-1000 - ((int64_t)p - 1)) / (int64_t)p) bad++;
    }
    CHECK_EQ(bad, 0);
}

static void test_ext_cmp_bits(void) {
    volatile int8_t i8[2] = {-128, 127};
    volatile uint8_t u8[2] = {0x80, 0xff};
    volatile int16_t i16[2] = {-32768, 32767};
    volatile uint16_t u16[2] = {0x8000, 0xffff};
    volatile int32_t i32[2] = {INT32_MIN, INT32_MAX};
    volatile uint32_t u32[2] = {0x80000000u, 0xffffffffu};
    CHECK_EQ((int64_t)i8[0], -128);
    CHECK_EQ((int64_t)i8[1], 127);
    CHECK_EQ((uint64_t)u8[0], 0x80);
    CHECK_EQ((uint64_t)u8[1], 0xff);
    CHECK_EQ((int64_t)i16[0], -32768);
    CHECK_EQ((uint64_t)u16[1], 0xffff);
    CHECK_EQ((int64_t)i16[1], 32767);
    CHECK_EQ((uint64_t)u16[0], 0x8000);
    CHECK_EQ((int64_t)i32[0], (int64_t)INT32_MIN);
    CHECK_EQ((uint64_t)u32[0], 0x80000000ull);
    CHECK_EQ((int64_t)i32[1], INT32_MAX);
    CHECK_EQ((uint64_t)u32[1], 0xffffffffull);
    CHECK_EQ((int64_t)(int8_t)OPQ(0x80u), -128);
    CHECK_EQ((int64_t)(int16_t)OPQ(0x18000u), -32768);
    CHECK(OPQ((int64_t)-1) < 0);
    CHECK(!(OPQ((uint64_t)-1) < 1));
    CHECK(OPQ(INT64_MIN) < OPQ(INT64_MAX));
    CHECK(OPQ((uint64_t)INT64_MIN) > OPQ((uint64_t)INT64_MAX));
    CHECK(OPQ((int32_t)-1) < OPQ((int32_t)0));
    CHECK(OPQ(0xffffffffu) > OPQ(0u));
    CHECK_EQ(__builtin_clzll(OPQ(1ull)), 63);
    CHECK_EQ(__builtin_ctzll(OPQ(1ull << 63)), 63);
    CHECK_EQ(__builtin_popcountll(OPQ(UINT64_MAX)), 64);
    CHECK_EQ(__builtin_popcountll(OPQ(0x5555555555555555ull)), 32);
    CHECK_EQ(__builtin_parityll(OPQ(0x8000000000000001ull)), 0);
    CHECK_EQ(__builtin_bswap64(OPQ(0x0102030405060708ull)), 0x0807060504030201ull);
    CHECK_EQ(__builtin_bswap32(OPQ(0x01020304u)), 0x04030201u);
    CHECK_EQ(OPQ(0xf0f0f0f0f0f0f0f0ull) ^ 0xffffffffffffffffull, 0x0f0f0f0f0f0f0f0full);
    CHECK_EQ(OPQ(0xf0f0f0f0f0f0f0f0ull) & 0x3c3c3c3c3c3c3c3cull, 0x3030303030303030ull);
    CHECK_EQ(OPQ(0xf0f0f0f0f0f0f0f0ull) | 0x0f0f0000000000ffull, 0xfffff0f0f0f0f0ffull);
    uint64_t rot = OPQ(0x0123456789abcdefull);
    CHECK_EQ((rot << 8) | (rot >> 56), 0x23456789abcdef01ull);
    /* Large immediates / constants materialisation. */
    CHECK_EQ(OPQ(0ull) + 0x7ffff800u, 2147481600ull);
    CHECK_EQ(OPQ(0ull) - 2048, (uint64_t)-2048);
    uint64_t s = 0, sq = 0;
    for (uint64_t i = 1; i <= OPQ(100000u); i++) s += i;
    for (uint64_t i = 1; i <= OPQ(1000u); i++) sq += i * i;
    CHECK_EQ(s, 5000050000ull);
    CHECK_EQ(sq, 333833500ull);
}

#ifdef __riscv
/* Results the RISC-V ISA defines where C leaves the behaviour undefined. */
#define RR(op, a, b) ({ uint64_t r_; __asm__ volatile(op " %0, %1, %2" : "=r"(r_) : "r"((uint64_t)(a)), "r"((uint64_t)(b))); r_; })
static void test_riscv_defined(void) {
    uint64_t x = OPQ(0x123456789abcdef0ull);
    CHECK_EQ(RR("div", x, 0), UINT64_MAX);
    CHECK_EQ(RR("divu", x, 0), UINT64_MAX);
    CHECK_EQ(RR("rem", x, 0), x);
    CHECK_EQ(RR("remu", x, 0), x);
    CHECK_EQ(RR("div", INT64_MIN, -1), (uint64_t)INT64_MIN);
    CHECK_EQ(RR("rem", INT64_MIN, -1), 0);
    CHECK_EQ(RR("divw", x, 0), UINT64_MAX);
    CHECK_EQ(RR("divuw", x, 0), UINT64_MAX);
    CHECK_EQ(RR("remw", x, 0), 0xffffffff9abcdef0ull);
    CHECK_EQ(RR("remuw", x, 0), 0xffffffff9abcdef0ull);
    CHECK_EQ(RR("divw", 0xffffffff80000000ull, -1), 0xffffffff80000000ull);
    CHECK_EQ(RR("remw", 0x80000000ull, -1), 0);
    CHECK_EQ(RR("divuw", 0x1ffffffffull, 2), 0x7fffffffull);
    CHECK_EQ(RR("sll", 1, 65), 2);
    CHECK_EQ(RR("srl", 0x8000000000000000ull, 127), 1);
    CHECK_EQ(RR("sra", 0x8000000000000000ull, 64 + 63), UINT64_MAX);
    CHECK_EQ(RR("sllw", 1, 33), 2);
    CHECK_EQ(RR("sllw", 1, 31), 0xffffffff80000000ull);
    CHECK_EQ(RR("srlw", 0xffffffff80000000ull, 31), 1);
    CHECK_EQ(RR("srlw", 0x80000000ull, 0), 0xffffffff80000000ull);
    CHECK_EQ(RR("sraw", 0x80000000ull, 4), 0xfffffffff8000000ull);
    CHECK_EQ(RR("addw", 0x7fffffffull, 1), 0xffffffff80000000ull);
    CHECK_EQ(RR("subw", 0, 0x80000000ull), 0xffffffff80000000ull);
    CHECK_EQ(RR("mulw", 0x10000, 0x10000), 0);
    CHECK_EQ(RR("mulw", 0x10000, 0x8000), 0xffffffff80000000ull);
    CHECK_EQ(RR("mulh", INT64_MIN, INT64_MIN), 0x4000000000000000ull);
    CHECK_EQ(RR("mulhu", UINT64_MAX, UINT64_MAX), 0xfffffffffffffffeull);
    CHECK_EQ(RR("mulhsu", -1, UINT64_MAX), UINT64_MAX);
    CHECK_EQ(RR("mulhsu", UINT64_MAX, -1), UINT64_MAX);
    CHECK_EQ(RR("slt", -1, 0), 1);
    CHECK_EQ(RR("sltu", -1, 0), 0);
    uint64_t r;
    __asm__ volatile("sltiu %0, %1, -1" : "=r"(r) : "r"(OPQ((uint64_t)5)));
    CHECK_EQ(r, 1); /* the immediate is sign-extended, then compared unsigned */
    __asm__ volatile("addiw %0, %1, 0" : "=r"(r) : "r"(OPQ(0x1ffffffffull)));
    CHECK_EQ(r, UINT64_MAX); /* sext.w */
    __asm__ volatile("lui %0, 0x80000" : "=r"(r));
    CHECK_EQ(r, 0xffffffff80000000ull);
    __asm__ volatile("1: auipc %0, 0\n la t0, 1b\n sub %0, %0, t0" : "=r"(r) :: "t0");
    CHECK_EQ(r, 0);
}
#endif

int main(void) {
    test_add_sub();
    test_mul();
    test_div();
    test_shifts();
    test_ext_cmp_bits();
#ifdef __riscv
    test_riscv_defined();
#endif
    return check_done("int");
}
