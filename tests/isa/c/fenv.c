/* Floating-point environment: all four C rounding modes (plus RISC-V's RMM
 * and static rounding modes under __riscv), and the exception flags.
 * Expected values are the IEEE 754 correctly rounded results for each
 * rounding direction (computed exactly offline). */
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdint.h>

#include "check.h"

#define D(x) OPQ((double)(x))
#define Fl(x) OPQ((float)(x))

static const int modes[4] = {FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO};
static const char *const mode_names[4] = {"nearest", "downward", "upward", "towardzero"};

/* expected[mode] for mode order nearest, downward, upward, towardzero. */
struct rcase {
    const char *what;
    uint64_t expected[4];
};

static void test_rounding_modes(void) {
    for (int m = 0; m < 4; m++) {
        CHECK_EQ(fesetround(modes[m]), 0);
        CHECK_EQ(fegetround(), modes[m]);
        uint64_t got[] = {
            f64_bits(D(1) / D(3)),
            f64_bits(D(-1) / D(3)),
            f32_bits(Fl(1) / Fl(3)),
            f32_bits(Fl(-1) / Fl(3)),
            f64_bits(__builtin_sqrt(D(2))),
            f32_bits(__builtin_sqrtf(Fl(2))),
            f64_bits(D(1) + D(0x1p-60)),
            f64_bits(D(-1) - D(0x1p-60)),
            f64_bits((double)OPQ((int64_t)(1ll << 53) + 1)),
            f64_bits((double)OPQ(-(int64_t)(1ll << 53) - 1)),
            f32_bits((float)D(0.1)),
            f32_bits((float)D(-0.1)),
            f64_bits(D(DBL_MAX) * D(2)),
            f64_bits(D(-DBL_MAX) * D(2)),
            f64_bits(D(0x1p-1074) * D(0.5)),
            f64_bits(D(DBL_MIN) * D(DBL_MIN)),
            f64_bits(D(3) - D(3)), /* exact zero: -0 only when rounding down */
            f64_bits(fma(D(1 + DBL_EPSILON), D(1 - DBL_EPSILON), D(1))),
            f64_bits(rint(D(2.5))),
            f64_bits(rint(D(-2.5))),
            f64_bits(rint(D(3.5))),
            f64_bits(rint(D(-0.5))),
            f64_bits(nearbyint(D(0.5))),
            (uint64_t)lrint(D(2.5)),
            (uint64_t)llrint(D(-2.5)),
            (uint64_t)lrintf(Fl(-3.5f)),
            /* C conversions to integer always truncate. */
            (uint64_t)(int64_t)D(2.7),
            (uint64_t)(int64_t)D(-2.7),
            (uint64_t)(int32_t)Fl(-2.7f),
            /* round/floor/ceil/trunc ignore the mode. */
            f64_bits(round(D(2.5))),
            f64_bits(floor(D(-2.5))),
            f64_bits(ceil(D(-2.5))),
            f64_bits(trunc(D(-2.5))),
        };
        static const struct rcase want[] = {
            {"1/3", {0x3fd5555555555555, 0x3fd5555555555555, 0x3fd5555555555556, 0x3fd5555555555555}},
            {"-1/3", {0xbfd5555555555555, 0xbfd5555555555556, 0xbfd5555555555555, 0xbfd5555555555555}},
            {"1f/3f", {0x3eaaaaab, 0x3eaaaaaa, 0x3eaaaaab, 0x3eaaaaaa}},
            {"-1f/3f", {0xbeaaaaab, 0xbeaaaaab, 0xbeaaaaaa, 0xbeaaaaaa}},
            {"sqrt(2)", {0x3ff6a09e667f3bcd, 0x3ff6a09e667f3bcc, 0x3ff6a09e667f3bcd, 0x3ff6a09e667f3bcc}},
            {"sqrtf(2)", {0x3fb504f3, 0x3fb504f3, 0x3fb504f4, 0x3fb504f3}},
            {"1+2^-60", {0x3ff0000000000000, 0x3ff0000000000000, 0x3ff0000000000001, 0x3ff0000000000000}},
            {"-1-2^-60", {0xbff0000000000000, 0xbff0000000000001, 0xbff0000000000000, 0xbff0000000000000}},
            {"(double)(2^53+1)", {0x4340000000000000, 0x4340000000000000, 0x4340000000000001, 0x4340000000000000}},
            {"(double)-(2^53+1)", {0xc340000000000000, 0xc340000000000001, 0xc340000000000000, 0xc340000000000000}},
            {"(float)0.1", {0x3dcccccd, 0x3dcccccc, 0x3dcccccd, 0x3dcccccc}},
            {"(float)-0.1", {0xbdcccccd, 0xbdcccccd, 0xbdcccccc, 0xbdcccccc}},
            {"DBL_MAX*2", {0x7ff0000000000000, 0x7fefffffffffffff, 0x7ff0000000000000, 0x7fefffffffffffff}},
            {"-DBL_MAX*2", {0xfff0000000000000, 0xfff0000000000000, 0xffefffffffffffff, 0xffefffffffffffff}},
            {"2^-1074*0.5", {0, 0, 1, 0}},
            {"DBL_MIN^2", {0, 0, 1, 0}},
            {"3-3", {0, 0x8000000000000000, 0, 0}},
            {"fma(1+e,1-e,1)", {0x4000000000000000, 0x3fffffffffffffff, 0x4000000000000000, 0x3fffffffffffffff}},
            {"rint(2.5)", {0x4000000000000000, 0x4000000000000000, 0x4008000000000000, 0x4000000000000000}},
            {"rint(-2.5)", {0xc000000000000000, 0xc008000000000000, 0xc000000000000000, 0xc000000000000000}},
            {"rint(3.5)", {0x4010000000000000, 0x4008000000000000, 0x4010000000000000, 0x4008000000000000}},
            {"rint(-0.5)", {0x8000000000000000, 0xbff0000000000000, 0x8000000000000000, 0x8000000000000000}},
            {"nearbyint(0.5)", {0, 0, 0x3ff0000000000000, 0}},
            {"lrint(2.5)", {2, 2, 3, 2}},
            {"llrint(-2.5)", {(uint64_t)-2, (uint64_t)-3, (uint64_t)-2, (uint64_t)-2}},
            {"lrintf(-3.5)", {(uint64_t)-4, (uint64_t)-4, (uint64_t)-3, (uint64_t)-3}},
            {"(int64)2.7", {2, 2, 2, 2}},
            {"(int64)-2.7", {(uint64_t)-2, (uint64_t)-2, (uint64_t)-2, (uint64_t)-2}},
            {"(int32)-2.7f", {(uint64_t)-2, (uint64_t)-2, (uint64_t)-2, (uint64_t)-2}},
            {"round(2.5)", {0x4008000000000000, 0x4008000000000000, 0x4008000000000000, 0x4008000000000000}},
            {"floor(-2.5)", {0xc008000000000000, 0xc008000000000000, 0xc008000000000000, 0xc008000000000000}},
            {"ceil(-2.5)", {0xc000000000000000, 0xc000000000000000, 0xc000000000000000, 0xc000000000000000}},
            {"trunc(-2.5)", {0xc000000000000000, 0xc000000000000000, 0xc000000000000000, 0xc000000000000000}},
        };
        _Static_assert(sizeof(got) / sizeof(got[0]) == sizeof(want) / sizeof(want[0]), "table sizes");
        for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
            check_count_++;
            if (got[i] != want[i].expected[m]) {
                check_failures_++;
                printf("FAIL rounding %s: %s: got 0x%016" PRIx64 ", want 0x%016" PRIx64 "\n", mode_names[m],
                       want[i].what, got[i], want[i].expected[m]);
            }
        }
    }
    fesetround(FE_TONEAREST);
}

/* Flags raised by one operation, evaluated between feclearexcept and fetestexcept. */
#define FLAGS_OF(expr) ({ feclearexcept(FE_ALL_EXCEPT); __typeof__(expr) v_ = (expr); OPQ(v_); fetestexcept(FE_ALL_EXCEPT); })
#define CHECK_FLAGS(expr, flags) check_u64_((uint64_t)FLAGS_OF(expr), (uint64_t)(flags), #expr, __FILE__, __LINE__)

static void test_flags(void) {
    CHECK_FLAGS(D(1) + D(1), 0);
    CHECK_FLAGS(D(1) / D(3), FE_INEXACT);
    CHECK_FLAGS(D(1) / D(0.0), FE_DIVBYZERO);
    CHECK_FLAGS(D(-1) / D(0.0), FE_DIVBYZERO);
    CHECK_FLAGS(D(INFINITY) / D(0.0), 0);
    CHECK_FLAGS(D(0.0) / D(0.0), FE_INVALID);
    CHECK_FLAGS(D(INFINITY) - D(INFINITY), FE_INVALID);
    CHECK_FLAGS(D(INFINITY) * D(0), FE_INVALID);
    CHECK_FLAGS(D(INFINITY) + D(1), 0);
    CHECK_FLAGS(D(NAN) + D(1), 0); /* quiet NaN operands raise nothing */
    CHECK_FLAGS(__builtin_sqrt(D(-1)), FE_INVALID);
    CHECK_FLAGS(__builtin_sqrt(D(-0.0)), 0);
    CHECK_FLAGS(__builtin_sqrt(D(2)), FE_INEXACT);
    CHECK_FLAGS(__builtin_sqrt(D(4)), 0);
    CHECK_FLAGS(D(DBL_MAX) * D(2), FE_OVERFLOW | FE_INEXACT);
    CHECK_FLAGS(D(DBL_MIN) * D(DBL_MIN), FE_UNDERFLOW | FE_INEXACT);
    CHECK_FLAGS(D(DBL_MIN) / D(2), 0); /* tiny but exact: no underflow */
    CHECK_FLAGS(D(DBL_MIN) / D(3), FE_UNDERFLOW | FE_INEXACT);
    CHECK_FLAGS(D(1e300) * D(1e-300), FE_INEXACT);
    CHECK_FLAGS(Fl(1) / Fl(3), FE_INEXACT);
    CHECK_FLAGS(Fl(1) / Fl(0.0f), FE_DIVBYZERO);
    CHECK_FLAGS(Fl(FLT_MAX) + Fl(FLT_MAX), FE_OVERFLOW | FE_INEXACT);
    CHECK_FLAGS(Fl(FLT_MIN) * Fl(0.25f), 0);
    CHECK_FLAGS(Fl(FLT_MIN) * Fl(0.3f), FE_UNDERFLOW | FE_INEXACT);
    CHECK_FLAGS((float)D(0.1), FE_INEXACT);
    CHECK_FLAGS((float)D(0.5), 0);
    CHECK_FLAGS((float)D(1e40), FE_OVERFLOW | FE_INEXACT);
    CHECK_FLAGS((float)D(1e-40), FE_UNDERFLOW | FE_INEXACT);
    CHECK_FLAGS((double)Fl(0.1f), 0);
    CHECK_FLAGS((double)OPQ((int64_t)(1ll << 53) + 1), FE_INEXACT);
    CHECK_FLAGS((double)OPQ((int64_t)(1ll << 53) + 2), 0);
    CHECK_FLAGS((float)OPQ((int32_t)16777217), FE_INEXACT);
    CHECK_FLAGS((int64_t)D(2.5), FE_INEXACT);
    CHECK_FLAGS((int64_t)D(-3.0), 0);
    CHECK_FLAGS((int32_t)Fl(7.25f), FE_INEXACT);
    CHECK_FLAGS(fma(D(1 + DBL_EPSILON), D(1 - DBL_EPSILON), D(-1)), 0);
    CHECK_FLAGS(fma(D(INFINITY), D(0), D(1)), FE_INVALID);
    CHECK_FLAGS(fma(D(0.1), D(10), D(-1)), 0);
    CHECK_FLAGS(fma(D(0.1), D(0.1), D(1)), FE_INEXACT);
    CHECK_FLAGS(rint(D(2.5)), FE_INEXACT);
    CHECK_FLAGS(nearbyint(D(2.5)), 0);
    CHECK_FLAGS(rint(D(2.0)), 0);
    /* Comparisons: relational operators signal on NaN, == and is*() do not. */
    CHECK_FLAGS(D(NAN) < D(1), FE_INVALID);
    CHECK_FLAGS(D(NAN) >= D(1), FE_INVALID);
    CHECK_FLAGS(D(NAN) == D(1), 0);
    CHECK_FLAGS(D(NAN) != D(NAN), 0);
    CHECK_FLAGS(isless(D(NAN), D(1)), 0);
    CHECK_FLAGS(isgreaterequal(D(1), D(NAN)), 0);
    CHECK_FLAGS(Fl(NAN) <= Fl(1), FE_INVALID);
    /* Flags are sticky and accumulate. */
    feclearexcept(FE_ALL_EXCEPT);
    OPQ(D(1) / D(0.0));
    OPQ(D(1) / D(3));
    OPQ(D(2) * D(2));
    CHECK_EQ(fetestexcept(FE_ALL_EXCEPT), FE_DIVBYZERO | FE_INEXACT);
    CHECK_EQ(fetestexcept(FE_INEXACT), FE_INEXACT);
    feclearexcept(FE_INEXACT);
    CHECK_EQ(fetestexcept(FE_ALL_EXCEPT), FE_DIVBYZERO);
    feclearexcept(FE_ALL_EXCEPT);
    CHECK_EQ(feraiseexcept(FE_OVERFLOW | FE_INVALID), 0);
    CHECK_EQ(fetestexcept(FE_ALL_EXCEPT), FE_OVERFLOW | FE_INVALID);
    fexcept_t saved;
    CHECK_EQ(fegetexceptflag(&saved, FE_ALL_EXCEPT), 0);
    feclearexcept(FE_ALL_EXCEPT);
    CHECK_EQ(fetestexcept(FE_ALL_EXCEPT), 0);
    CHECK_EQ(fesetexceptflag(&saved, FE_INVALID), 0);
    CHECK_EQ(fetestexcept(FE_ALL_EXCEPT), FE_INVALID);
    /* fegetenv/fesetenv keep rounding mode and flags. */
    fenv_t env;
    fesetround(FE_UPWARD);
    CHECK_EQ(fegetenv(&env), 0);
    fesetround(FE_TONEAREST);
    feclearexcept(FE_ALL_EXCEPT);
    CHECK_EQ(fesetenv(&env), 0);
    CHECK_EQ(fegetround(), FE_UPWARD);
    CHECK_EQ(fetestexcept(FE_ALL_EXCEPT), FE_INVALID);
    fesetround(FE_TONEAREST);
    feclearexcept(FE_ALL_EXCEPT);
}

#ifdef __riscv
#define FADD_D_RM(a, b, rm) ({ double r_; __asm__ volatile("fadd.d %0, %1, %2, " rm : "=f"(r_) : "f"((double)(a)), "f"((double)(b))); r_; })
#define FCVT_L_D_RM(a, rm) ({ int64_t r_; __asm__ volatile("fcvt.l.d %0, %1, " rm : "=r"(r_) : "f"((double)(a))); r_; })
#define FEQ_D(a, b) ({ uint64_t r_; __asm__ volatile("feq.d %0, %1, %2" : "=r"(r_) : "f"((double)(a)), "f"((double)(b))); r_; })
#define FLT_D(a, b) ({ uint64_t r_; __asm__ volatile("flt.d %0, %1, %2" : "=r"(r_) : "f"((double)(a)), "f"((double)(b))); r_; })

static uint64_t read_fflags(void) { uint64_t v; __asm__ volatile("frflags %0" : "=r"(v)); return v; }
static void clear_fflags(void) { __asm__ volatile("fsflags zero"); }

static void test_riscv(void) {
    /* Static rounding modes override frm. */
    fesetround(FE_UPWARD);
    double half = D(0x1p-53); /* 1 + 2^-53 is a tie */
    CHECK_F64(FADD_D_RM(D(1), half, "rne"), 0x3ff0000000000000);
    CHECK_F64(FADD_D_RM(D(1), half, "rmm"), 0x3ff0000000000001);
    CHECK_F64(FADD_D_RM(D(1), half, "rdn"), 0x3ff0000000000000);
    CHECK_F64(FADD_D_RM(D(1), half, "rtz"), 0x3ff0000000000000);
    CHECK_F64(FADD_D_RM(D(1), half, "rup"), 0x3ff0000000000001);
    CHECK_F64(FADD_D_RM(D(1), half, "dyn"), 0x3ff0000000000001);
    CHECK_F64(FADD_D_RM(D(-1), -half, "rmm"), 0xbff0000000000001);
    CHECK_EQ(FCVT_L_D_RM(D(2.5), "rmm"), 3);
    CHECK_EQ(FCVT_L_D_RM(D(-2.5), "rmm"), -3);
    CHECK_EQ(FCVT_L_D_RM(D(2.5), "rne"), 2);
    CHECK_EQ(FCVT_L_D_RM(D(-2.5), "rdn"), -3);
    CHECK_EQ(FCVT_L_D_RM(D(-2.5), "rup"), -2);
    CHECK_EQ(FCVT_L_D_RM(D(-2.5), "dyn"), -2);
    /* Dynamic RMM (frm = 4) through the CSR. */
    uint64_t old;
    __asm__ volatile("fsrmi %0, 4" : "=r"(old));
    CHECK_EQ(old, 3); /* FE_UPWARD is RUP = 3 */
    CHECK_F64(D(1) + half, 0x3ff0000000000001);
    CHECK_EQ(FCVT_L_D_RM(D(-0.5), "dyn"), -1);
    uint64_t frm;
    __asm__ volatile("frrm %0" : "=r"(frm));
    CHECK_EQ(frm, 4);
    fesetround(FE_TONEAREST);
    __asm__ volatile("frrm %0" : "=r"(frm));
    CHECK_EQ(frm, 0);
    /* fflags bits: NV=16 DZ=8 OF=4 UF=2 NX=1; fcsr = frm << 5 | fflags. */
    clear_fflags();
    OPQ(D(1) / D(0.0));
    CHECK_EQ(read_fflags(), 8);
    OPQ(D(DBL_MAX) * D(4));
    CHECK_EQ(read_fflags(), 8 | 4 | 1);
    uint64_t fcsr;
    __asm__ volatile("fsrmi 2\n csrr %0, fcsr" : "=r"(fcsr));
    CHECK_EQ(fcsr, (2 << 5) | 13);
    __asm__ volatile("csrw fcsr, %0" :: "r"(OPQ(0xffull)));
    __asm__ volatile("csrr %0, fcsr" : "=r"(fcsr));
    CHECK_EQ(fcsr, 0xff);
    __asm__ volatile("csrw fcsr, zero");
    /* feq is quiet on qNaN, flt signals; both signal on sNaN. */
    double qnan = D(NAN), snan = f64_from_bits(OPQ(0x7ff0000000000001ull));
    clear_fflags();
    CHECK_EQ(FEQ_D(qnan, qnan), 0);
    CHECK_EQ(read_fflags(), 0);
    CHECK_EQ(FLT_D(qnan, D(1)), 0);
    CHECK_EQ(read_fflags(), 16);
    clear_fflags();
    CHECK_EQ(FEQ_D(snan, D(1)), 0);
    CHECK_EQ(read_fflags(), 16);
    clear_fflags();
    OPQ(snan + D(1));
    CHECK_EQ(read_fflags(), 16);
    clear_fflags();
    CHECK_EQ(FCVT_L_D_RM(D(1e30), "rtz"), INT64_MAX);
    CHECK_EQ(read_fflags(), 16); /* out of range: invalid, not inexact */
    clear_fflags();
}
#endif

int main(void) {
    test_rounding_modes();
    test_flags();
#ifdef __riscv
    test_riscv();
#endif
    return check_done("fenv");
}
