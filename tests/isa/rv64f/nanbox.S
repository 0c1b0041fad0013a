/* RV64F NaN boxing: single-precision values live in the low half of a
 * 64-bit register with the upper 32 bits all ones.  Reading an improperly
 * boxed value as a single gives the canonical NaN; transfers (fmv.x.w,
 * fsw) use the low 32 bits untouched; all single results are boxed.
 * Canonical NaN results: 0x7fc00000 / 0x7ff8000000000000. */
#include "test.h"
TEST_BEGIN
        /* results of flw / fmv.w.x / single ops are NaN-boxed */
        TEST_CASE(1, a0, 0xffffffff3f800000, la a1, one_s; flw f1, 0(a1); fmv.x.d a0, f1)
        TEST_CASE(2, a0, 0xffffffff40400000, li a1, 0x40400000; fmv.w.x f2, a1; fmv.x.d a0, f2)
        TEST_CASE(3, a0, 0xffffffff40800000, fadd.s f3, f1, f2; fmv.x.d a0, f3)
        TEST_CASE(4, a0, 0xffffffffbf800000, fneg.s f4, f1; fmv.x.d a0, f4)
        TEST_CASE(5, a0, 0xffffffff3f800000, li a1, 1; fcvt.s.l f4, a1; fmv.x.d a0, f4)
        TEST_CASE(6, a0, 0xffffffff3f800000, la a1, one_d; fld f5, 0(a1); fcvt.s.d f4, f5; fmv.x.d a0, f4)

        /* improperly boxed register: 1.0f with upper bits zero */
        li a1, 0x000000003f800000
        fmv.d.x f10, a1
        li a1, 0xfffffffe3f800000        /* one upper bit clear */
        fmv.d.x f11, a1
        /* arithmetic sees the canonical NaN (quiet: no NV) */
        TEST_CASE(7, a0, 0xffffffff7fc00000, fsflags zero; fadd.s f4, f10, f1; fmv.x.d a0, f4)
        TEST_CASE(8, a0, 0, frflags a0)
        TEST_CASE(9, a0, 0xffffffff7fc00000, fmul.s f4, f1, f11; fmv.x.d a0, f4)
        TEST_CASE(10, a0, 0xffffffff7fc00000, fsqrt.s f4, f10; fmv.x.d a0, f4)
        TEST_CASE(11, a0, 0xffffffff7fc00000, fmadd.s f4, f1, f1, f10; fmv.x.d a0, f4)
        /* fmin/fmax return the other (valid) operand */
        TEST_CASE(12, a0, 0xffffffff40400000, fmin.s f4, f10, f2; fmv.x.d a0, f4)
        TEST_CASE(13, a0, 0xffffffff40400000, fmax.s f4, f2, f11; fmv.x.d a0, f4)
        /* sign injection: the unboxed input is the canonical NaN */
        TEST_CASE(14, a0, 0xffffffff7fc00000, fsgnj.s f4, f10, f10; fmv.x.d a0, f4)
        TEST_CASE(15, a0, 0xffffffffffc00000, fsgnjn.s f4, f10, f10; fmv.x.d a0, f4)
        TEST_CASE(16, a0, 0xffffffffbf800000, fsgnjn.s f4, f1, f10; fmv.x.d a0, f4)
        TEST_CASE(17, a0, 0xffffffff7fc00000, fmv.s f4, f10; fmv.x.d a0, f4)
        /* fclass: quiet NaN */
        TEST_CASE(18, a0, 0x200, fclass.s a0, f10)
        TEST_CASE(19, a0, 0x200, fclass.s a0, f11)
        /* compares: unordered, quiet NaN -> feq raises nothing, flt raises NV */
        TEST_CASE(20, a0, 0, fsflags zero; feq.s a0, f10, f10)
        TEST_CASE(21, a0, 0, frflags a0)
        TEST_CASE(22, a0, 0, flt.s a0, f10, f1)
        TEST_CASE(23, a0, FFLAG_NV, frflags a0)
        /* conversions: NaN in */
        TEST_CASE(24, a0, 0x7fffffff, fsflags zero; fcvt.w.s a0, f10, rtz)
        TEST_CASE(25, a0, FFLAG_NV, frflags a0)
        TEST_CASE(26, a0, 0x7ff8000000000000, fsflags zero; fcvt.d.s f4, f10; fmv.x.d a0, f4)
        TEST_CASE(27, a0, 0, frflags a0)
        /* transfers ignore the upper half */
        TEST_CASE(28, a0, 0x000000003f800000, fmv.x.w a0, f10)
        TEST_CASE(29, a0, 0x000000003f800000, fmv.x.w a0, f11)
        TEST_CASE(30, a0, 0x000000003f800000, la a1, buf; sd zero, 0(a1); fsw f10, 0(a1); ld a0, 0(a1))
        /* fmv.x.w sign-extends bit 31 */
        TEST_CASE(31, a0, 0xffffffffbf800000, li a1, 0x00000000bf800000; fmv.d.x f12, a1; fmv.x.w a0, f12)
        /* double-precision operations use all 64 bits: the "boxed single"
           0xffffffff3f800000 is a double NaN */
        TEST_CASE(32, a0, 0x200, fclass.d a0, f1)
        TEST_CASE(33, a0, 0x7ff8000000000000, fadd.d f4, f1, f1; fmv.x.d a0, f4)
        /* canonical NaN from invalid operations, whatever the inputs' payloads */
        TEST_CASE(34, a0, 0xffffffff7fc00000, li a1, 0xffc01234; fmv.w.x f6, a1; fadd.s f4, f6, f1; fmv.x.d a0, f4)
        TEST_CASE(35, a0, 0x7ff8000000000000, li a1, 0xfff8000000001234; fmv.d.x f6, a1; fmul.d f4, f6, f6; fmv.x.d a0, f4)
        TEST_CASE(36, a0, 0xffffffff7fc00000, li a1, 0x7f800001; fmv.w.x f6, a1; fsflags zero; fsqrt.s f4, f6; fmv.x.d a0, f4)
        TEST_CASE(37, a0, FFLAG_NV, frflags a0)
        TEST_CASE(38, a0, 0xffffffff7fc00000, fcvt.s.d f4, f6; fmv.x.d a0, f4)
        /* fmv / fneg / fabs of a NaN are sign manipulations, not arithmetic:
           the payload is kept and no flag is raised */
        TEST_CASE(39, a0, 0xffffffffff800001, fsflags zero; fneg.s f4, f6; fmv.x.d a0, f4)
        TEST_CASE(40, a0, 0, frflags a0)
        TEST_CASE(41, a0, 0x7ff0000000001234, li a1, 0xfff0000000001234; fmv.d.x f6, a1; fabs.d f4, f6; fmv.x.d a0, f4)
        TEST_PASS

        .data
        .align 3
one_s:  .word 0x3f800000, 0
one_d:  .dword 0x3ff0000000000000
buf:    .dword 0
