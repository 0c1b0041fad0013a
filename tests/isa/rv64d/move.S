/* RV64D: fld/fsd (offsets, all 64 bits), fmv.x.d / fmv.d.x (no
 * canonicalization), fsgnj*.d, mixed single/double use of a register,
 * flw/fsw of a double register's low word. */
#include "test.h"
TEST_BEGIN
        la s0, dbuf
        TEST_CASE(1, a0, 0x0123456789abcdef, fld f1, 0(s0); fmv.x.d a0, f1)
        TEST_CASE(2, a0, 0x7ff0000000000001, fld f2, 8(s0); fmv.x.d a0, f2)   /* sNaN kept */
        TEST_CASE(3, a0, 0x0123456789abcdef, fsd f1, 24(s0); ld a0, 24(s0))
        TEST_CASE(4, a0, 0x7ff0000000000001, fsd f2, -8(s0); ld a0, -8(s0))
        TEST_CASE(5, a0, 0xfff8000000000123, li a1, 0xfff8000000000123; fmv.d.x f3, a1; fmv.x.d a0, f3)
        TEST_CASE(6, a0, 0xfff8000000000123, fsd f3, 16(s0); fld f4, 16(s0); fmv.x.d a0, f4)
        /* moves do not raise flags, even for signaling NaNs */
        TEST_CASE(7, a0, 0, fsflags zero; fmv.d f5, f2; fsd f5, 32(s0); fmv.x.d a1, f5; frflags a0)
        TEST_CASE(8, a0, 0x7ff0000000000001, fmv.x.d a0, f5)
        /* sign injection */
        TEST_CASE(9, a0, 0x8123456789abcdef, fneg.d f6, f1; fmv.x.d a0, f6)
        TEST_CASE(10, a0, 0x0123456789abcdef, fabs.d f6, f6; fmv.x.d a0, f6)
        TEST_CASE(11, a0, 0xfff0000000000001, fsgnjn.d f6, f2, f1; fmv.x.d a0, f6)
        TEST_CASE(12, a0, 0xfff0000000000001, fsgnjx.d f6, f2, f3; fmv.x.d a0, f6)
        TEST_CASE(13, a0, 0x7ff0000000000001, fsgnjx.d f6, f2, f1; fmv.x.d a0, f6)
        /* flw into a register holding a double: the value becomes a boxed single */
        TEST_CASE(14, a0, 0xffffffff89abcdef, flw f1, 0(s0); fmv.x.d a0, f1)
        /* fsw of a double register stores its low word */
        TEST_CASE(15, a0, 0x0000000089abcdef, fld f1, 0(s0); sd zero, 40(s0); fsw f1, 40(s0); ld a0, 40(s0))
        /* large offsets */
        TEST_CASE(16, a0, 0x4000000000000000, la s1, dbuf + 2048; fld f7, -2048+48(s1); fmv.x.d a0, f7)
        TEST_CASE(17, a0, 0x4000000000000000, fsd f7, 2040(s0); ld a0, 2040(s0))
        /* arithmetic on doubles read through fld */
        TEST_CASE(18, a0, 0x4008000000000000, fld f8, 48(s0); fld f9, 56(s0); fadd.d f10, f8, f9; fmv.x.d a0, f10)
        TEST_CASE(19, a0, 1, flt.d a0, f9, f8)
        TEST_CASE(20, a0, 0x3ff0000000000000, fcvt.d.w f11, a0; fmv.x.d a0, f11)
        TEST_CASE(21, a0, 0xc000000000000000, li a1, -2; fcvt.d.l f11, a1; fmv.x.d a0, f11)
        TEST_PASS

        .data
        .align 3
        .dword 0
dbuf:   .dword 0x0123456789abcdef
        .dword 0x7ff0000000000001
        .dword 0
        .dword 0
        .dword 0
        .dword 0
        .dword 0x4000000000000000
        .dword 0x3ff0000000000000
        .fill 256, 8, 0
