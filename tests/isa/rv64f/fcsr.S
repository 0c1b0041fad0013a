/* RV64F: fcsr/fflags/frm behaviour, dynamic rounding mode, invalid rounding
 * modes (illegal instruction), sticky flags, mstatus.FS becoming Dirty. */
#include "test.h"

#define CHECK_ILLEGAL_TAKEN \
        la t0, trap_info; ld t1, TI_ARMED(t0); bnez t1, fail; \
        ld t1, TI_CAUSE(t0); li t2, CAUSE_ILLEGAL_INSTRUCTION; bne t1, t2, fail;

TEST_BEGIN
        /* fcsr = frm << 5 | fflags; upper bits read as zero */
        TEST_CASE(1, a0, 0xff, li a1, -1; csrw fcsr, a1; csrr a0, fcsr)
        TEST_CASE(2, a0, 0x1f, csrr a0, fflags)
        TEST_CASE(3, a0, 0x07, csrr a0, frm)
        TEST_CASE(4, a0, 0x00, csrw fcsr, zero; csrr a0, fcsr)
        /* frm and fflags are fields of fcsr */
        TEST_CASE(5, a0, 0x60, csrwi frm, 3; csrr a0, fcsr)
        TEST_CASE(6, a0, 0x75, csrwi fflags, 0x15; csrr a0, fcsr)
        TEST_CASE(7, a0, 0x60, li a1, 0xffe0; csrw fflags, a1; csrr a0, fcsr)
        TEST_CASE(8, a0, 0x60, csrr a0, fcsr)
        /* fsrm / fsflags swap and return the old value */
        TEST_CASE(9, a0, 3, li a1, 1; fsrm a0, a1)
        TEST_CASE(10, a0, 1, frrm a0)
        TEST_CASE(11, a0, 0, li a1, 0x1f; fsflags a0, a1)
        TEST_CASE(12, a0, 0x1f, fsflags a0, zero)
        TEST_CASE(13, a0, 0x20, frcsr a0)
        TEST_CASE(14, a0, 0x20, fscsr a0, zero)
        /* frm values 0..4 are all writable */
        TEST_CASE(15, a0, 4, csrwi frm, 4; frrm a0)
        TEST_CASE(16, a0, 2, csrwi frm, 2; frrm a0)

        /* flags are sticky: NX from 1/3, then DZ from 1/0 */
        TEST_NUM(17)
        fscsr zero
        li a1, 0x3f800000
        fmv.w.x f1, a1
        li a1, 0x40400000
        fmv.w.x f2, a1
        fmv.w.x f3, zero
        fdiv.s f4, f1, f2
        frflags a0
        CHECK_EQ(a0, FFLAG_NX)
        fdiv.s f4, f1, f3
        frflags a0
        CHECK_EQ(a0, FFLAG_NX | FFLAG_DZ)
        /* an exact operation leaves them alone */
        fadd.s f4, f1, f1
        frflags a0
        CHECK_EQ(a0, FFLAG_NX | FFLAG_DZ)
        /* and they are only cleared by writing */
        fsflags zero
        frflags a0
        CHECK_EQ(a0, 0)

        /* dynamic rounding mode: 1/3 rounds differently under RDN and RUP */
        TEST_NUM(18)
        csrwi frm, 2                    /* RDN */
        fdiv.s f4, f1, f2, dyn
        fmv.x.w a0, f4
        CHECK_EQ(a0, 0x3eaaaaaa)
        csrwi frm, 3                    /* RUP */
        fdiv.s f4, f1, f2, dyn
        fmv.x.w a0, f4
        CHECK_EQ(a0, 0x3eaaaaab)
        csrwi frm, 1                    /* RTZ */
        fdiv.s f4, f1, f2               /* assembler default is dyn */
        fmv.x.w a0, f4
        CHECK_EQ(a0, 0x3eaaaaaa)
        /* a static mode overrides frm */
        TEST_NUM(19)
        fdiv.s f4, f1, f2, rup
        fmv.x.w a0, f4
        CHECK_EQ(a0, 0x3eaaaaab)
        /* dynamic mode on a conversion: -1.5 under RDN/RUP/RMM */
        TEST_NUM(20)
        li a1, 0xbfc00000
        fmv.w.x f5, a1
        csrwi frm, 2
        fcvt.w.s a0, f5, dyn
        CHECK_EQ(a0, -2)
        csrwi frm, 3
        fcvt.w.s a0, f5, dyn
        CHECK_EQ(a0, -1)
        csrwi frm, 4
        fcvt.w.s a0, f5, dyn
        CHECK_EQ(a0, -2)
        /* dynamic mode for double precision and fma too */
        TEST_NUM(21)
        li a1, 0x3ff0000000000000
        fmv.d.x f6, a1
        li a1, 0x4008000000000000
        fmv.d.x f7, a1
        csrwi frm, 2
        fdiv.d f8, f6, f7, dyn
        fmv.x.d a0, f8
        CHECK_EQ(a0, 0x3fd5555555555555)
        csrwi frm, 3
        fdiv.d f8, f6, f7, dyn
        fmv.x.d a0, f8
        CHECK_EQ(a0, 0x3fd5555555555556)
        fmadd.d f8, f6, f6, f8, dyn     /* 1 + 0.333..6: exact enough */
        fmv.x.d a0, f8
        CHECK_EQ(a0, 0x3ff5555555555556)

        /* invalid frm (5, 6, 7) + dynamic rounding -> illegal instruction */
        TEST_NUM(22)
        csrwi frm, 5
        TRAP_RESET
        EXPECT_TRAP_SKIP(CAUSE_ILLEGAL_INSTRUCTION)
        fadd.s f4, f1, f2, dyn
        CHECK_ILLEGAL_TAKEN
        TEST_NUM(23)
        csrwi frm, 6
        TRAP_RESET
        EXPECT_TRAP_SKIP(CAUSE_ILLEGAL_INSTRUCTION)
        fmul.d f4, f6, f7, dyn
        CHECK_ILLEGAL_TAKEN
        TEST_NUM(24)
        csrwi frm, 7
        TRAP_RESET
        EXPECT_TRAP_SKIP(CAUSE_ILLEGAL_INSTRUCTION)
        fcvt.w.s a0, f5, dyn
        CHECK_ILLEGAL_TAKEN
        /* ... but instructions without a rounding mode still work */
        TEST_NUM(25)
        TRAP_RESET
        fsgnj.s f4, f1, f2
        fmv.x.w a0, f4
        feq.s a1, f1, f1
        fmin.s f4, f1, f2
        la t0, trap_info
        ld t1, TI_COUNT(t0)
        bnez t1, fail
        /* ... and static modes work with an invalid frm */
        TEST_NUM(26)
        fdiv.s f4, f1, f2, rne
        fmv.x.w a0, f4
        CHECK_EQ(a0, 0x3eaaaaab)
        /* reserved static rounding modes 5 and 6 are illegal:
           fadd.s f4, f1, f2 with rm = 5 / 6 */
        TEST_NUM(27)
        csrwi frm, 0
        TRAP_RESET
        EXPECT_TRAP_SKIP(CAUSE_ILLEGAL_INSTRUCTION)
        .word 0x00208253 | (5 << 12)
        CHECK_ILLEGAL_TAKEN
        TEST_NUM(28)
        TRAP_RESET
        EXPECT_TRAP_SKIP(CAUSE_ILLEGAL_INSTRUCTION)
        .word 0x00208253 | (6 << 12)
        CHECK_ILLEGAL_TAKEN
        TEST_NUM(29)
        .word 0x0020f253                /* rm = 7 (dyn) with frm = 0: fine */
        fmv.x.w a0, f4
        CHECK_EQ(a0, 0x40800000)        /* 1 + 3 */

        /* FP instructions set mstatus.FS to Dirty (3) */
        TEST_NUM(30)
        li a1, MSTATUS_FS
        csrc mstatus, a1
        li a1, 0x2000                   /* Initial */
        csrs mstatus, a1
        fadd.s f4, f1, f2
        csrr a0, mstatus
        srli a0, a0, 13
        andi a0, a0, 3
        CHECK_EQ(a0, 3)
        csrr a0, mstatus
        bgez a0, fail                   /* SD set */
        /* ... and so does writing an FP CSR */
        TEST_NUM(31)
        li a1, MSTATUS_FS
        csrc mstatus, a1
        li a1, 0x4000                   /* Clean */
        csrs mstatus, a1
        csrwi fflags, 0
        csrr a0, mstatus
        srli a0, a0, 13
        andi a0, a0, 3
        CHECK_EQ(a0, 3)
        csrwi fcsr, 0
        TEST_PASS
