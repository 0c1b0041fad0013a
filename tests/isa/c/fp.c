/* Floating point (binary32 and binary64), default rounding: arithmetic,
 * conversions, NaN / infinity / signed zero, subnormals, fma, classification.
 * Expected encodings are the correctly rounded IEEE 754 results
 * (round-to-nearest-even); the __riscv block checks what the RISC-V F/D
 * extensions define beyond C (canonical NaN, NaN boxing, saturating
 * conversions, fclass, fmin/fmax of signed zeros). */
#include <float.h>
#include <math.h>
#include <stdint.h>

#include "check.h"

#define D(x) OPQ((double)(x))
#define Fl(x) OPQ((float)(x))

static void test_arith(void) {
    CHECK_F64(D(0.1) + D(0.2), 0x3fd3333333333334);
    CHECK_F64(D(0.1) * D(3), 0x3fd3333333333334);
    CHECK_F64(D(1) / D(3), 0x3fd5555555555555);
    CHECK_F64(D(2) / D(3), 0x3fe5555555555555);
    CHECK_F64(D(10) / D(3), 0x400aaaaaaaaaaaab);
    CHECK_F64(D(1e10) / D(7), 0x41d5499149249249);
    CHECK_F64(D(1e16) + D(1), 0x4341c37937e08000); /* 1e16+1 ties to even */
    CHECK_F64(D(3) - D(0.5), 0x4004000000000000);
    CHECK_F64(D(-3) * D(0.5), 0xbff8000000000000);
    CHECK_F64(__builtin_sqrt(D(2)), 0x3ff6a09e667f3bcd);
    CHECK_F64(__builtin_sqrt(D(3)), 0x3ffbb67ae8584caa);
    CHECK_F64(__builtin_sqrt(D(1e-300)), 0x20ca2fe76a3f9475);
    CHECK_F64(__builtin_sqrt(D(0x1p-1074)), 0x1e60000000000000);
    CHECK_F64(__builtin_sqrt(D(144)), 0x4028000000000000);
    /* Ties to even around 1.0. */
    CHECK_F64(D(1) + D(DBL_EPSILON / 2), 0x3ff0000000000000);
    CHECK_F64(D(1) + D(DBL_EPSILON * 1.5), 0x3ff0000000000002);
    CHECK_F64(D(1) - D(DBL_EPSILON / 4), 0x3ff0000000000000);
    /* Overflow, subnormals, underflow. */
    CHECK_F64(D(1e308) * D(10), 0x7ff0000000000000);
    CHECK_F64(D(-1e308) * D(10), 0xfff0000000000000);
    CHECK_F64(D(DBL_MAX) + D(DBL_MAX), 0x7ff0000000000000);
    CHECK_F64(D(DBL_MIN) / D(2), 0x0008000000000000);
    CHECK_F64(D(0x1p-1074) / D(2), 0);
    CHECK_F64(D(0x1p-1074) * D(1.5), 0x0000000000000002);
    CHECK_F64(D(DBL_MIN) * D(DBL_MIN), 0);
    CHECK_F64(D(0x1p-1070) * D(0x1p+1000), 0x3b90000000000000);
    CHECK_F64(D(0x0.fffffffffffffp-1022) + D(0x0.0000000000001p-1022), 0x0010000000000000);
    /* Single precision. */
    CHECK_F32(Fl(0.1f) + Fl(0.2f), 0x3e99999a);
    CHECK_F32(Fl(1) / Fl(3), 0x3eaaaaab);
    CHECK_F32(Fl(10) / Fl(3), 0x40555555);
    CHECK_F32(__builtin_sqrtf(Fl(2)), 0x3fb504f3);
    CHECK_F32(__builtin_sqrtf(Fl(3)), 0x3fddb3d7);
    CHECK_F32(Fl(FLT_MAX) * Fl(2), 0x7f800000);
    CHECK_F32(Fl(FLT_MIN) / Fl(4), 0x00200000);
    CHECK_F32(Fl(0x1p-149f) / Fl(2), 0);
    CHECK_F32(Fl(16777216.0f) + Fl(1), 0x4b800000);
    CHECK_F32(Fl(16777216.0f) + Fl(3), 0x4b800002);
}

static void test_special(void) {
    double inf = D(INFINITY), nan = D(NAN), pz = D(0.0), nz = D(-0.0);
    CHECK(isnan(inf - inf));
    CHECK(isnan(inf * pz));
    CHECK(isnan(pz / pz));
    CHECK(isnan(inf / inf));
    CHECK(isnan(__builtin_sqrt(D(-1))));
    CHECK(isnan(nan + D(1)));
    CHECK_F64(D(1) / pz, 0x7ff0000000000000);
    CHECK_F64(D(-1) / pz, 0xfff0000000000000);
    CHECK_F64(D(1) / nz, 0xfff0000000000000);
    CHECK_F64(inf + D(1e308), 0x7ff0000000000000);
    CHECK_F64(D(1) / inf, 0);
    CHECK_F64(D(-1) / inf, 0x8000000000000000);
    CHECK_F64(nz + pz, 0);
    CHECK_F64(nz + nz, 0x8000000000000000);
    CHECK_F64(nz - pz, 0x8000000000000000);
    CHECK_F64(pz - pz, 0);
    CHECK_F64(D(5) - D(5), 0);
    CHECK_F64(pz * D(-1), 0x8000000000000000);
    CHECK_F64(nz * nz, 0);
    CHECK_F64(-pz, 0x8000000000000000);
    CHECK_F64(__builtin_sqrt(nz), 0x8000000000000000);
    CHECK_F64(fabs(nz), 0);
    CHECK_F64(fabs(D(-2.5)), 0x4004000000000000);
    CHECK_F64(copysign(D(1), nz), 0xbff0000000000000);
    CHECK_F64(copysign(D(-3), pz), 0x4008000000000000);
    CHECK_F32(copysignf(Fl(2), Fl(-0.0f)), 0xc0000000);
    CHECK(nz == pz);
    CHECK(signbit(nz) && !signbit(pz));
    CHECK(!(nan == nan));
    CHECK(nan != nan);
    CHECK(!(nan < D(1)) && !(nan > D(1)) && !(nan <= D(1)) && !(nan >= D(1)));
    CHECK(isunordered(nan, D(1)) && !isunordered(D(1), D(2)));
    CHECK(isinf(inf) && isinf(-inf) && !isinf(nan) && !isfinite(inf) && isfinite(D(DBL_MAX)));
    CHECK(fpclassify(D(DBL_MIN) / D(2)) == FP_SUBNORMAL);
    CHECK(fpclassify(D(DBL_MIN)) == FP_NORMAL);
    CHECK(fpclassify(nz) == FP_ZERO);
    CHECK(fpclassify(inf) == FP_INFINITE);
    CHECK(fpclassify(nan) == FP_NAN);
    CHECK(fpclassify(Fl(FLT_MIN) / Fl(2)) == FP_SUBNORMAL);
    CHECK_F64(fmax(nan, D(1)), 0x3ff0000000000000);
    CHECK_F64(fmin(D(1), nan), 0x3ff0000000000000);
    CHECK_F64(fmax(D(-2), D(3)), 0x4008000000000000);
    CHECK_F64(fmin(D(-2), D(3)), 0xc000000000000000);
    CHECK(isnan(fmax(nan, nan)));
    CHECK_F32(fmaxf(Fl(NAN), Fl(-1)), 0xbf800000);
    CHECK_F32(fminf(Fl(-4), Fl(2)), 0xc0800000);
    CHECK(D(INFINITY) > D(DBL_MAX) && -D(INFINITY) < -D(DBL_MAX));
    CHECK(D(0x1p-1074) > pz);
}

static void test_conversions(void) {
    CHECK_EQ((int64_t)D(-2.5), -2);
    CHECK_EQ((int64_t)D(2.9999999), 2);
    CHECK_EQ((int64_t)D(-0.9), 0);
    CHECK_EQ((int32_t)D(-2147483648.0), (int64_t)INT32_MIN);
    CHECK_EQ((int32_t)D(2147483647.9), 2147483647);
    CHECK_EQ((uint32_t)D(4294967295.5), 0xffffffffu);
    CHECK_EQ((uint64_t)D(1e19), 10000000000000000000ull);
    CHECK_EQ((uint64_t)D(18446744073709549568.0), 18446744073709549568ull);
    CHECK_EQ((int64_t)D(-9223372036854775808.0), INT64_MIN);
    CHECK_EQ((int64_t)D(9007199254740993.0), 9007199254740992ll);
    CHECK_EQ((int64_t)Fl(-16777217.0f), -16777216);
    CHECK_EQ((uint64_t)Fl(1e19f), 9999999980506447872ull);
    CHECK_EQ((int32_t)Fl(-1.5f), -1);
    CHECK_F64((double)OPQ((int64_t)(1ll << 53) + 1), 0x4340000000000000);
    CHECK_F64((double)OPQ((int64_t)(1ll << 53) + 3), 0x4340000000000002);
    CHECK_F64((double)OPQ(UINT64_MAX), 0x43f0000000000000);
    CHECK_F64((double)OPQ(INT64_MIN), 0xc3e0000000000000);
    CHECK_F64((double)OPQ((int32_t)-1), 0xbff0000000000000);
    CHECK_F64((double)OPQ(0xffffffffu), 0x41efffffffe00000);
    CHECK_F64((double)OPQ((int64_t)-123456789), 0xc19d6f3454000000);
    CHECK_F32((float)OPQ((int32_t)16777217), 0x4b800000);
    CHECK_F32((float)OPQ(INT64_MAX), 0x5f000000);
    CHECK_F32((float)OPQ(0xffffffffu), 0x4f800000);
    CHECK_F32((float)OPQ((int64_t)-3), 0xc0400000);
    CHECK_F32((float)OPQ(UINT64_MAX), 0x5f800000);
    CHECK_F32((float)D(0.1), 0x3dcccccd);
    CHECK_F64((double)Fl(0.1f), 0x3fb99999a0000000);
    CHECK_F32((float)D(1e40), 0x7f800000);
    CHECK_F32((float)D(DBL_MIN), 0);
    CHECK_F32((float)D(-DBL_MIN), 0x80000000);
    CHECK_F32((float)D(1e-45), 0x00000001);
    CHECK_F32((float)D(1e-40), 0x000116c2);
    CHECK_F32((float)D(-0.0), 0x80000000);
    CHECK_F64((double)Fl(-INFINITY), 0xfff0000000000000);
    CHECK((float)D(NAN) != (float)D(NAN));
    CHECK_F64((double)Fl(0x1p-149f), 0x36a0000000000000);
}

static void test_fma(void) {
    double a = D(1 + DBL_EPSILON), b = D(1 - DBL_EPSILON);
    CHECK_F64(a * b - D(1), 0);                   /* product rounds to 1 */
    CHECK_F64(fma(a, b, D(-1)), 0xb970000000000000); /* exactly -2^-104 */
    CHECK_F64(__builtin_fma(a, b, D(-1)), 0xb970000000000000);
    CHECK_F64(fma(D(2), D(3), D(4)), 0x4024000000000000);
    CHECK_F64(fma(-D(2), D(3), D(4)), 0xc000000000000000);
    CHECK_F64(-fma(D(2), D(3), D(4)), 0xc024000000000000);
    CHECK_F64(fma(D(2), D(3), -D(4)), 0x4000000000000000);
    CHECK_F64(fma(D(DBL_MAX), D(2), -D(DBL_MAX)), 0x7fefffffffffffff);
    CHECK_F64(fma(D(0.0), D(-1), D(0.0)), 0);
    CHECK_F64(fma(D(-0.0), D(1), D(-0.0)), 0x8000000000000000);
    CHECK_F64(fma(D(0.1), D(10), D(-1)), 0x3c90000000000000); /* 0.1 is 1+2^-54 off */
    CHECK(isnan(fma(D(INFINITY), D(0), D(1))));
    CHECK(isnan(fma(D(INFINITY), D(1), D(-INFINITY))));
    float af = Fl(1 + FLT_EPSILON), bf = Fl(1 - FLT_EPSILON);
    CHECK_F32(af * bf - Fl(1), 0);
    CHECK_F32(fmaf(af, bf, Fl(-1)), 0xa8800000);
    CHECK_F32(__builtin_fmaf(Fl(2), Fl(3), Fl(4)), 0x41200000);
    CHECK_F32(fmaf(Fl(0.1f), Fl(10), Fl(-1)), 0x32800000);
}

static void test_libm_exact(void) {
    /* Functions whose results are exactly specified. */
    CHECK_F64(round(D(2.5)), 0x4008000000000000);
    CHECK_F64(round(D(-2.5)), 0xc008000000000000);
    CHECK_F64(round(D(0.49999999999999994)), 0);
    CHECK_F64(trunc(D(-0.7)), 0x8000000000000000);
    CHECK_F64(floor(D(-0.5)), 0xbff0000000000000);
    CHECK_F64(ceil(D(-0.5)), 0x8000000000000000);
    CHECK_F64(ceil(D(1.0000000000000002)), 0x4000000000000000);
    CHECK_F64(floor(D(4503599627370495.5)), 0x432ffffffffffffe);
    CHECK_F32(floorf(Fl(-1.5f)), 0xc0000000);
    CHECK_F32(roundf(Fl(-0.5f)), 0xbf800000);
    CHECK_F64(fmod(D(10), D(3)), 0x3ff0000000000000);
    CHECK_F64(fmod(D(-10), D(3)), 0xbff0000000000000);
    CHECK_F64(fmod(D(5.5), D(0.25)), 0);
    CHECK_F64(ldexp(D(1), -1074), 1);
    CHECK_F64(ldexp(D(1.5), 1023), 0x7fe8000000000000);
    int e;
    CHECK_F64(frexp(D(48), &e), 0x3fe8000000000000);
    CHECK_EQ(e, 6);
    double ip;
    CHECK_F64(modf(D(-3.25), &ip), 0xbfd0000000000000);
    CHECK_F64(ip, 0xc008000000000000);
    CHECK_F64(nextafter(D(1), D(2)), 0x3ff0000000000001);
    CHECK_F64(nextafter(D(0), D(-1)), 0x8000000000000001);
    CHECK_F64(hypot(D(3), D(4)), 0x4014000000000000);
}

#ifdef __riscv
static uint64_t fmv_x_d(double d) { uint64_t r; __asm__ volatile("fmv.x.d %0, %1" : "=r"(r) : "f"(d)); return r; }
#define FCVT(op, T, x) ({ int64_t r_; __asm__ volatile(op " %0, %1, rtz" : "=r"(r_) : "f"((T)(x))); r_; })
#define FCLASS_D(x) ({ uint64_t r_; __asm__ volatile("fclass.d %0, %1" : "=r"(r_) : "f"((double)(x))); r_; })
#define FCLASS_S(x) ({ uint64_t r_; __asm__ volatile("fclass.s %0, %1" : "=r"(r_) : "f"((float)(x))); r_; })
#define FOP_D(op, a, b) ({ double r_; __asm__ volatile(op " %0, %1, %2" : "=f"(r_) : "f"((double)(a)), "f"((double)(b))); r_; })

static void test_riscv_defined(void) {
    /* Canonical NaNs. */
    CHECK_F64(D(0.0) / D(0.0), 0x7ff8000000000000);
    CHECK_F64(D(INFINITY) - D(INFINITY), 0x7ff8000000000000);
    CHECK_F32(Fl(0.0f) / Fl(0.0f), 0x7fc00000);
    CHECK_F64(D(-NAN) + D(1), 0x7ff8000000000000); /* no payload propagation */
    CHECK_F64(f64_from_bits(OPQ(0xfff0000000000123ull)) * D(2), 0x7ff8000000000000);
    CHECK_F64(FOP_D("fmin.d", f64_from_bits(OPQ(0x7ff8dead00000000ull)), f64_from_bits(OPQ(0x7ff4000000000000ull))), 0x7ff8000000000000);
    /* fmin/fmax: -0 < +0. */
    CHECK_F64(FOP_D("fmin.d", D(0.0), D(-0.0)), 0x8000000000000000);
    CHECK_F64(FOP_D("fmax.d", D(-0.0), D(0.0)), 0);
    CHECK_F64(FOP_D("fmax.d", f64_from_bits(OPQ(0x7ff4000000000000ull)), D(-1)), 0xbff0000000000000);
    CHECK_F64(FOP_D("fsgnjx.d", D(-2), D(-1)), 0x4000000000000000);
    CHECK_F64(FOP_D("fsgnjn.d", D(2), D(1)), 0xc000000000000000);
    /* NaN boxing: single-precision values live in the low half, upper all 1s. */
    volatile float one = 1.0f;
    double boxed;
    __asm__ volatile("flw %0, %1" : "=f"(boxed) : "m"(one));
    CHECK_EQ(fmv_x_d(boxed), 0xffffffff3f800000ull);
    float unboxed, res;
    __asm__ volatile("fmv.d.x %0, %1" : "=f"(unboxed) : "r"(OPQ(0x000000003f800000ull)));
    __asm__ volatile("fadd.s %0, %1, %1" : "=f"(res) : "f"(unboxed));
    CHECK_F32(res, 0x7fc00000); /* improperly boxed input reads as canonical NaN */
    __asm__ volatile("fmv.w.x %0, %1" : "=f"(boxed) : "r"(OPQ(0x40490fdbull)));
    CHECK_EQ(fmv_x_d(boxed), 0xffffffff40490fdbull);
    uint64_t xw;
    __asm__ volatile("fmv.x.w %0, %1" : "=r"(xw) : "f"(Fl(-2.0f)));
    CHECK_EQ(xw, 0xffffffffc0000000ull); /* sign-extended */
    /* Saturating conversions. */
    CHECK_EQ(FCVT("fcvt.l.d", double, D(NAN)), INT64_MAX);
    CHECK_EQ(FCVT("fcvt.l.d", double, D(INFINITY)), INT64_MAX);
    CHECK_EQ(FCVT("fcvt.l.d", double, D(-INFINITY)), INT64_MIN);
    CHECK_EQ(FCVT("fcvt.l.d", double, D(1e19)), INT64_MAX);
    CHECK_EQ(FCVT("fcvt.l.d", double, D(-1e19)), INT64_MIN);
    CHECK_EQ(FCVT("fcvt.lu.d", double, D(-1)), 0);
    CHECK_EQ(FCVT("fcvt.lu.d", double, D(-0.5)), 0);
    CHECK_EQ(FCVT("fcvt.lu.d", double, D(1e20)), UINT64_MAX);
    CHECK_EQ(FCVT("fcvt.lu.d", double, D(NAN)), UINT64_MAX);
    CHECK_EQ(FCVT("fcvt.w.d", double, D(3e9)), 0x7fffffff);
    CHECK_EQ(FCVT("fcvt.w.d", double, D(-3e9)), (int64_t)INT32_MIN);
    CHECK_EQ(FCVT("fcvt.w.d", double, D(NAN)), 0x7fffffff);
    CHECK_EQ(FCVT("fcvt.w.d", double, D(-1.9)), -1);
    CHECK_EQ(FCVT("fcvt.wu.d", double, D(-1)), 0);
    CHECK_EQ(FCVT("fcvt.wu.d", double, D(5e9)), UINT64_MAX); /* 0xffffffff sign-extended */
    CHECK_EQ(FCVT("fcvt.wu.d", double, D(3e9)), 0xffffffffb2d05e00ull);
    CHECK_EQ(FCVT("fcvt.w.s", float, Fl(-INFINITY)), (int64_t)INT32_MIN);
    CHECK_EQ(FCVT("fcvt.l.s", float, Fl(NAN)), INT64_MAX);
    CHECK_EQ(FCVT("fcvt.lu.s", float, Fl(-3)), 0);
    CHECK_EQ(FCVT("fcvt.wu.s", float, Fl(4e9f)), 0xffffffffee6b2800ull);
    /* fclass. */
    CHECK_EQ(FCLASS_D(D(-INFINITY)), 1u << 0);
    CHECK_EQ(FCLASS_D(D(-1)), 1u << 1);
    CHECK_EQ(FCLASS_D(D(-DBL_MIN / 2)), 1u << 2);
    CHECK_EQ(FCLASS_D(D(-0.0)), 1u << 3);
    CHECK_EQ(FCLASS_D(D(0.0)), 1u << 4);
    CHECK_EQ(FCLASS_D(D(DBL_MIN / 2)), 1u << 5);
    CHECK_EQ(FCLASS_D(D(1)), 1u << 6);
    CHECK_EQ(FCLASS_D(D(INFINITY)), 1u << 7);
    CHECK_EQ(FCLASS_D(f64_from_bits(OPQ(0x7ff0000000000001ull))), 1u << 8);
    CHECK_EQ(FCLASS_D(D(NAN)), 1u << 9);
    CHECK_EQ(FCLASS_S(Fl(-FLT_MIN / 2)), 1u << 2);
    CHECK_EQ(FCLASS_S(f32_from_bits(OPQ(0x7f800001u))), 1u << 8);
    CHECK_EQ(FCLASS_S(Fl(NAN)), 1u << 9);
    CHECK_EQ(FCLASS_S(Fl(-0.0f)), 1u << 3);
}
#endif

int main(void) {
    test_arith();
    test_special();
    test_conversions();
    test_fma();
    test_libm_exact();
#ifdef __riscv
    test_riscv_defined();
#endif
    return check_done("fp");
}
