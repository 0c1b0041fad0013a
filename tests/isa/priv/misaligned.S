/* Privileged: misaligned ordinary loads and stores (integer and FP).  The
 * spec allows an implementation to perform them or to raise an
 * address-misaligned (4 load / 6 store) or access-fault (5 / 7) exception.
 * If it did not trap, the value (and memory) must be correct; if it
 * trapped, the cause must be one of those and mtval the address. */
#include "test.h"

/* accept: no trap, or trap with cause c1/c2 and mtval = s1 */
#define CHECK_MIS(c1, c2, ok_label) \
        la t0, trap_info; ld t1, TI_ARMED(t0); bnez t1, 90f; \
        ld t1, TI_CAUSE(t0); li t2, c1; beq t1, t2, 91f; li t2, c2; bne t1, t2, fail; \
    91: ld t1, TI_TVAL(t0); bne t1, s1, fail; j ok_label; \
    90: sd zero, TI_ARMED(t0);

/* load `inst` from buf+off into a0; expect `val` if performed */
#define MIS_LOAD(n, inst, off, val) \
        TEST_NUM(n); TRAP_RESET; la s0, buf; addi s1, s0, off; li a0, 0x77; \
        EXPECT_ANY_TRAP_SKIP; inst a0, 0(s1); \
        CHECK_MIS(CAUSE_MISALIGNED_LOAD, CAUSE_LOAD_ACCESS, 80f); \
        li t2, val; bne a0, t2, fail; j 81f; \
    80: li t2, 0x77; bne a0, t2, fail; \
    81: ;

/* store `inst` of `val` to a zeroed copy at off; check both dwords if
   performed */
#define MIS_STORE(n, inst, off, val, exp0, exp1) \
        TEST_NUM(n); TRAP_RESET; la s0, sbuf; sd zero, 0(s0); sd zero, 8(s0); \
        addi s1, s0, off; li a0, val; \
        EXPECT_ANY_TRAP_SKIP; inst a0, 0(s1); \
        CHECK_MIS(CAUSE_MISALIGNED_STORE, CAUSE_STORE_ACCESS, 82f); \
        ld t1, 0(s0); li t2, exp0; bne t1, t2, fail; \
        ld t1, 8(s0); li t2, exp1; bne t1, t2, fail; \
    82: ;

TEST_BEGIN
        /* buf = 00 01 02 03 ... 0f 10 .. */
        MIS_LOAD(1, lh, 1, 0x0201)
        MIS_LOAD(2, lhu, 7, 0x0807)
        MIS_LOAD(3, lh, 0xf, 0x100f)
        MIS_LOAD(4, lw, 1, 0x04030201)
        MIS_LOAD(5, lw, 2, 0x05040302)
        MIS_LOAD(6, lw, 3, 0x06050403)
        MIS_LOAD(7, lwu, 6, 0x09080706)
        MIS_LOAD(8, ld, 1, 0x0807060504030201)
        MIS_LOAD(9, ld, 4, 0x0b0a090807060504)
        MIS_LOAD(10, ld, 7, 0x0e0d0c0b0a090807)
        MIS_LOAD(11, lw, 0x15, 0xffffffff98979615)
        MIS_STORE(12, sh, 1, 0xbbaa, 0x0000000000bbaa00, 0)
        MIS_STORE(13, sw, 3, 0xddccbbaa, 0xddccbbaa000000, 0)
        MIS_STORE(14, sw, 6, 0xddccbbaa, 0xbbaa000000000000, 0xddcc)
        MIS_STORE(15, sd, 1, 0x8877665544332211, 0x7766554433221100, 0x88)
        MIS_STORE(16, sd, 5, 0x8877665544332211, 0x3322110000000000, 0x8877665544)
        MIS_STORE(17, sh, 7, 0xbbaa, 0xaa00000000000000, 0xbb)
        /* FP loads and stores */
        TEST_NUM(18)
        TRAP_RESET
        la s0, buf
        addi s1, s0, 2
        li t3, 0x77
        fmv.d.x f1, t3
        EXPECT_ANY_TRAP_SKIP
        fld f1, 0(s1)
        fmv.x.d a0, f1
        CHECK_MIS(CAUSE_MISALIGNED_LOAD, CAUSE_LOAD_ACCESS, 83f)
        CHECK_EQ(a0, 0x0908070605040302)
        j 84f
83:     CHECK_EQ(a0, 0x77)
84:     TEST_NUM(19)
        TRAP_RESET
        la s0, sbuf
        sd zero, 0(s0)
        sd zero, 8(s0)
        addi s1, s0, 1
        li t3, 0x3f800000
        fmv.w.x f2, t3
        EXPECT_ANY_TRAP_SKIP
        fsw f2, 0(s1)
        CHECK_MIS(CAUSE_MISALIGNED_STORE, CAUSE_STORE_ACCESS, 85f)
        ld t1, 0(s0)
        CHECK_EQ(t1, 0x3f80000000)
85:     TEST_PASS

        .data
        .align 4
buf:    .byte 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
        .byte 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f
        .byte 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x96, 0x97
        .byte 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f
sbuf:   .dword 0, 0
